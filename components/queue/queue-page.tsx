// The frame of a top-level queue page rendered on the server: its title and
// description, then the client view, inside <HydrateClient> so the view finds
// what the page prefetched already in its cache.
import type { ReactNode } from "react";
import { HydrateClient } from "@/server/trpc/rsc";

export function QueuePage({
  title,
  description,
  children,
}: {
  title: string;
  description: ReactNode;
  children: ReactNode;
}) {
  return (
    <HydrateClient>
      <div className="page">
        <header className="page-header">
          <div>
            <h1>{title}</h1>
            <p className="muted small">{description}</p>
          </div>
        </header>
        {children}
      </div>
    </HydrateClient>
  );
}
