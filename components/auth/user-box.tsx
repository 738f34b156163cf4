"use client";
// The nav's footer: who is signed in, with which role, and sign-out.
import { useState } from "react";
import { useSessionUser } from "./session-user";

export function UserBox() {
  const user = useSessionUser();
  const [failed, setFailed] = useState(false);
  if (!user) return null;
  async function signOut() {
    const res = await fetch("/api/auth/signout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    if (!res.ok) return setFailed(true);
    window.location.assign("/signin");
  }
  return (
    <div className="user-box" data-testid="user-box">
      <span className="user-name">{user.username}</span>
      <span className={`role role-${user.role}`}>{user.role}</span>
      <button type="button" className="btn btn-link btn-sm" onClick={signOut}>
        Sign out
      </button>
      {failed && <span className="error">Sign-out failed; try again.</span>}
    </div>
  );
}
