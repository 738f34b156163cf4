// What went wrong with a call to a CI service's HTTP API, in words an
// operator can act on: fetch itself says only "fetch failed".

/** A timeout as such; otherwise the error with its cause (ECONNREFUSED, DNS, TLS). */
export function describeFetchFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `no answer within ${timeoutMs} ms`;
  }
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : "";
  return `${err.message}${cause}`;
}
