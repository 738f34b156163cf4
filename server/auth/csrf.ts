// Cross-site request forgery: a state-changing request must be JSON and must
// come from a page of this very origin. Browsers send Origin on every POST and
// cannot send application/json cross-origin without a CORS preflight, which
// Sluice never answers; an HTML form can send neither.
import { lastForwarded } from "./request";

export function csrfRefusal(req: Request, allowedOrigins: readonly string[] = []): string | null {
  const type = (req.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") return "only application/json requests may change anything";
  const origin = req.headers.get("origin");
  if (!origin) return "the request has no Origin header";
  if (origin === ownOrigin(req) || allowedOrigins.includes(origin)) return null;
  return `cross-origin request from ${origin} refused`;
}

/** The origin the browser used to reach this server (Host and the proto Next.js forwards). */
export function ownOrigin(req: Request): string {
  const host = req.headers.get("host") ?? new URL(req.url).host;
  const proto = lastForwarded(req.headers.get("x-forwarded-proto")) || new URL(req.url).protocol.replace(":", "");
  return `${proto}://${host}`;
}
