// POST {username, password} → a session cookie. Same-origin JSON only, like
// every other change; rate-limited per account and per address.
import { z } from "zod";
import { csrfRefusal } from "@/server/auth/csrf";
import { AuthError } from "@/server/auth/errors";
import { clientAddress, isHttps, sessionCookie } from "@/server/auth/request";
import { signIn } from "@/server/auth/signin";
import { getDb } from "@/server/db";
import { getEnv } from "@/server/env";
import { readCappedJson } from "@/server/http/body";
import { createLogger } from "@/server/log";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const body = z.object({
  username: z.string().min(1, "enter your username").max(64),
  password: z.string().min(1, "enter your password").max(256),
});

const log = createLogger({ in: "auth" });

// {username (64), password (256)} as JSON, even with every character escaped, fits in far less.
const MAX_BODY_BYTES = 8 * 1024;

export async function POST(req: Request) {
  const env = getEnv();
  const refusal = csrfRefusal(req, env.SLUICE_ALLOWED_ORIGINS);
  if (refusal) return Response.json({ error: refusal }, { status: 403 });
  const read = await readCappedJson(req, MAX_BODY_BYTES);
  if (!read.ok) return read.response;
  const parsed = body.safeParse(read.json);
  if (!parsed.success) return Response.json({ error: z.prettifyError(parsed.error) }, { status: 400 });
  const address = clientAddress(req.headers);
  try {
    const ttlMs = env.SLUICE_SESSION_HOURS * 3600_000;
    const s = await signIn(getDb(), { ...parsed.data, address, ttlMs });
    log.info("signed in", { user: s.user.username, address });
    return Response.json(
      { user: { username: s.user.username, role: s.user.role }, expiresAt: s.expiresAt },
      { headers: { "set-cookie": sessionCookie(s.token, ttlMs, isHttps(req.headers)) } },
    );
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    log.warn("sign-in refused", { user: parsed.data.username.slice(0, 64), address, reason: err.code });
    const status = err.code === "TOO_MANY_REQUESTS" ? 429 : 401;
    const headers: HeadersInit = err.retryAfterMs ? { "retry-after": String(Math.ceil(err.retryAfterMs / 1000)) } : {};
    return Response.json({ error: err.message }, { status, headers });
  }
}
