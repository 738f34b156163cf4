import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { SignInForm } from "@/components/auth/signin-form";
import { safeNextPath } from "@/server/auth/next-path";
import { currentIdentity } from "@/server/trpc/session";

export const metadata: Metadata = { title: "Sign in · Sluice" };
export const dynamic = "force-dynamic";

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  // Anything but a same-origin path (an absolute URL, a backslash, a newline) means "/".
  const next = safeNextPath((await searchParams).next);
  if ((await currentIdentity()).user) redirect(next);
  return (
    <div className="signin">
      <h1>Sign in to Sluice</h1>
      <SignInForm next={next} />
      <p className="muted">
        No account yet? An operator adds one with <code>npx sluice add-user &lt;name&gt; --role viewer</code>.
      </p>
    </div>
  );
}
