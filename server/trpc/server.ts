// For server components: `const api = await serverApi(); await api.health.ping()`.
import { createContext } from "./context";
import { createServerCaller } from "./router";

export async function serverApi() {
  return createServerCaller(await createContext("server"));
}
