import type { Metadata } from "next";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { SessionUserProvider } from "@/components/auth/session-user";
import { ConsoleNav } from "@/components/console-nav";
import { LiveBanner } from "@/components/live-refresh";
import { THEME_BOOT_SCRIPT } from "@/components/theme";
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
    // The boot script sets data-theme before React hydrates: the attribute is expected to differ.
    <html lang="en" suppressHydrationWarning>
      <head>
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: a constant of ours, run before the first paint so a stored theme never flashes. */}
        <script dangerouslySetInnerHTML={{ __html: THEME_BOOT_SCRIPT }} />
      </head>
      <body>
        <TRPCReactProvider>
          <SessionUserProvider user={user ? { username: user.username, role: user.role } : null}>
            {user ? (
              <div className="shell">
                <a href="#main" className="skip-link">
                  Skip to content
                </a>
                <ConsoleNav />
                {/* tabIndex -1: the skip link moves keyboard focus here, not just the scroll position. */}
                <main className="content" id="main" tabIndex={-1}>
                  <LiveBanner />
                  {children}
                </main>
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
