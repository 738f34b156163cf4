// The two roles. Viewers read; operators read and act.
import { z } from "zod";

export const ROLES = ["viewer", "operator"] as const;
export type Role = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES, { error: "role must be viewer or operator" });

/** Who is calling: a signed-in console user, or the sluice CLI run by someone on a machine with database access. */
export interface Actor {
  /** Username, or "cli:<os user>". */
  name: string;
  role: Role;
  /** The caller's network address, or "cli". */
  address: string;
}

export interface SessionUser {
  id: number;
  username: string;
  role: Role;
}
