// Who sent a request: the session cookie's user and the client's address.
import { clientAddress, sessionToken } from "../auth/request";
import type { SessionUser } from "../auth/roles";
import { sessionUser } from "../auth/sessions";
import { getDb } from "../db";

export async function requestIdentity(headers: Headers): Promise<{ user: SessionUser | null; address: string }> {
  return { user: await sessionUser(getDb(), sessionToken(headers)), address: clientAddress(headers) };
}

/** The same for a server component: the request being rendered. */
export async function currentIdentity(): Promise<{ user: SessionUser | null; address: string }> {
  const { headers } = await import("next/headers");
  return requestIdentity(await headers());
}
