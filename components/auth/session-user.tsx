"use client";
// Who is signed in, for client components: the nav shows it, and action
// buttons are disabled for viewers (the server refuses them anyway).
import { createContext, type ReactNode, useContext } from "react";

export interface ConsoleUser {
  username: string;
  role: "viewer" | "operator";
}

const SessionUserContext = createContext<ConsoleUser | null>(null);

export function SessionUserProvider({ user, children }: { user: ConsoleUser | null; children: ReactNode }) {
  return <SessionUserContext.Provider value={user}>{children}</SessionUserContext.Provider>;
}

export function useSessionUser(): ConsoleUser | null {
  return useContext(SessionUserContext);
}

/** Whether the signed-in user may act (requeue, purge, trigger, cancel). */
export function useCanAct(): boolean {
  return useSessionUser()?.role === "operator";
}

/** The title of a button a viewer cannot use. */
export const OPERATORS_ONLY = "Operators only: you are signed in as a viewer";
