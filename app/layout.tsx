import type { Metadata } from "next";
import type { ReactNode } from "react";
import { ConsoleNav } from "@/components/console-nav";
import { TRPCReactProvider } from "@/components/trpc-provider";
import "./globals.css";

export const metadata: Metadata = {
  title: "Sluice",
  description: "Operator console for the Sluice work queue and build runners",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <TRPCReactProvider>
          <div className="shell">
            <ConsoleNav />
            <main className="content">{children}</main>
          </div>
        </TRPCReactProvider>
      </body>
    </html>
  );
}
