"use client";
// The console's left navigation: one entry per area, the current one marked.
import Link from "next/link";
import { usePathname } from "next/navigation";
import { UserBox } from "./auth/user-box";
import { DatabaseStatus } from "./database-status";
import { LiveIndicator } from "./live-refresh";
import { ThemeToggle } from "./theme-toggle";

const ENTRIES = [
  { href: "/", label: "Overview" },
  { href: "/topics", label: "Topics" },
  { href: "/deferred", label: "Deferred" },
  { href: "/dlq", label: "DLQ" },
  { href: "/builds", label: "Builds" },
  { href: "/workers", label: "Workers" },
  { href: "/audit", label: "Audit" },
] as const;

function isCurrent(pathname: string, href: string): boolean {
  return href === "/" ? pathname === "/" : pathname === href || pathname.startsWith(`${href}/`);
}

export function ConsoleNav() {
  const pathname = usePathname() ?? "/";
  return (
    <nav className="nav" aria-label="Console">
      <Link href="/" className="nav-brand">
        <span className="nav-logo" aria-hidden="true" />
        Sluice
      </Link>
      <ul className="nav-list">
        {ENTRIES.map(({ href, label }) => {
          const current = isCurrent(pathname, href);
          return (
            <li key={href}>
              <Link
                href={href}
                className={current ? "nav-link nav-link-current" : "nav-link"}
                aria-current={current ? "page" : undefined}
              >
                {label}
              </Link>
            </li>
          );
        })}
      </ul>
      <div className="nav-footer">
        <UserBox />
        <DatabaseStatus />
        <div className="nav-controls">
          <LiveIndicator />
          <ThemeToggle />
        </div>
      </div>
    </nav>
  );
}
