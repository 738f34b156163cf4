// POST → ends the session (its row is deleted) and clears the cookie.
import { csrfRefusal } from "@/server/auth/csrf";
import { clearedSessionCookie, isHttps, sessionToken } from "@/server/auth/request";
import { endSession } from "@/server/auth/sessions";
import { getDb } from "@/server/db";
import { getEnv } from "@/server/env";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function POST(req: Request) {
  const refusal = csrfRefusal(req, getEnv().SLUICE_ALLOWED_ORIGINS);
  if (refusal) return Response.json({ error: refusal }, { status: 403 });
  await endSession(getDb(), sessionToken(req.headers));
  return Response.json({ ok: true }, { headers: { "set-cookie": clearedSessionCookie(isHttps(req.headers)) } });
}
