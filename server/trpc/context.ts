// What every procedure gets. Sign-in (operators and viewers) will add the user here.
export interface Context {
  /** Where the call came from: "http" (the route handler) or "server" (a server component). */
  source: "http" | "server";
}

export async function createContext(source: Context["source"]): Promise<Context> {
  return { source };
}
