// Who sent a request: the session cookie's user and the client's address.
import "server-only";
import { csrfRefusal } from "@/server/auth/csrf";
import { clientAddress, sessionToken } from "@/server/auth/request";
import type { SessionUser } from "@/server/auth/roles";
import { sessionUser } from "@/server/auth/sessions";
import { getDb } from "@/server/db";
import { getEnv } from "@/server/env";

export async function requestIdentity(headers: Headers): Promise<{ user: SessionUser | null; address: string }> {
  return { user: await sessionUser(getDb(), sessionToken(headers)), address: clientAddress(headers) };
}

/** The same for a server component: the request being rendered. */
export async function currentIdentity(): Promise<{ user: SessionUser | null; address: string }> {
  const { headers } = await import("next/headers");
  return requestIdentity(await headers());
}

/**
 * For route handlers outside tRPC that change something: the same rules as a
 * mutation (same-origin JSON, an operator's session). A Response to send back
 * when refused, null when allowed.
 */
export async function refuseUnlessOperator(req: Request): Promise<Response | null> {
  const csrf = csrfRefusal(req, getEnv().SLUICE_ALLOWED_ORIGINS);
  if (csrf) return Response.json({ error: csrf }, { status: 403 });
  const { user } = await requestIdentity(req.headers);
  if (!user) return Response.json({ error: "sign in first" }, { status: 401 });
  if (user.role !== "operator") return Response.json({ error: "only operators may do this" }, { status: 403 });
  return null;
}
