import type { Metadata } from "next";
import Link from "next/link";
import { TriggerBuildForm } from "@/components/builds/trigger-build-form";
import { getQueryClient, HydrateClient, trpc } from "@/server/trpc/rsc";
import { currentIdentity } from "@/server/trpc/session";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Trigger a build · Sluice" };

export default async function NewBuildPage() {
  // The server records the signed-in user as the requester (builds.trigger): the page names the same one.
  const { user } = await currentIdentity();
  // The configured queues come with the page, for the queue field's suggestions.
  await getQueryClient().prefetchQuery(trpc.builds.queues.queryOptions());
  return (
    <div className="page page-narrow">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link href="/builds">Builds</Link> / new
      </nav>
      <header className="page-header">
        <div>
          <h1>Trigger a build</h1>
          <p className="muted small">
            Stores a batch and asks a worker to build it on the queue&apos;s runner. Requested as{" "}
            <strong data-testid="requester">{user?.username ?? "you"}</strong>, the signed-in user.
          </p>
        </div>
      </header>
      <HydrateClient>
        <TriggerBuildForm />
      </HydrateClient>
    </div>
  );
}
