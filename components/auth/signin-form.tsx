"use client";
// The sign-in form: posts JSON to /api/auth/signin (same-origin JSON is the
// only kind of request that may change anything) and goes where the user was headed.
import { type FormEvent, useState } from "react";
import { safeNextPath } from "@/server/auth/next-path";

export function SignInForm({ next }: { next?: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const res = await fetch("/api/auth/signin", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
      });
      if (res.ok) {
        window.location.assign(safeNextPath(next));
        return;
      }
      const body = (await res.json().catch(() => null)) as { error?: string } | null;
      setError(body?.error ?? `Sign-in failed (HTTP ${res.status})`);
    } catch {
      setError("The server did not answer; try again.");
    }
    setBusy(false);
  }
  return (
    <form className="signin-form" onSubmit={submit} aria-label="Sign in">
      <label>
        Username
        <input name="username" autoComplete="username" required maxLength={64} />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required maxLength={256} />
      </label>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
