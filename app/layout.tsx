import type { Metadata } from "next";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { SessionUserProvider } from "@/components/auth/session-user";
import { ConsoleNav } from "@/components/console-nav";
import { TRPCReactProvider } from "@/components/trpc-provider";
import { currentIdentity } from "@/server/trpc/session";
import "./globals.css";

export const metadata: Metadata = {
  title: "Sluice",
  description: "Operator console for the Sluice work queue and build runners",
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  const { user } = await currentIdentity();
  // proxy.ts names the page; it is absent on the sign-in page, which renders without the console around it.
  const page = (await headers()).get("x-sluice-path");
  if (!user && page) redirect(`/signin?next=${encodeURIComponent(page)}`);
  return (
    <html lang="en">
      <body>
        <TRPCReactProvider>
          <SessionUserProvider user={user ? { username: user.username, role: user.role } : null}>
            {user ? (
              <div className="shell">
                <ConsoleNav />
                <main className="content">{children}</main>
              </div>
            ) : (
              <main className="content content-bare">{children}</main>
            )}
          </SessionUserProvider>
        </TRPCReactProvider>
      </body>
    </html>
  );
}
