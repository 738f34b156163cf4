import type { Metadata } from "next";
import { notFound, redirect } from "next/navigation";
import { namesNothing } from "@/app/builds/missing";
import { BatchProgress } from "@/components/builds/batch-progress";
import { buildHref } from "@/components/builds/filter-params";
import { getQueryClient, HydrateClient, trpc } from "@/server/trpc/rsc";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Batch · Sluice" };

/** Where "Trigger build" lands: the build's page once a worker has triggered it, a waiting page until then. */
export default async function BatchPage({ params }: { params: Promise<{ batchId: string }> }) {
  const { batchId } = await params;
  let buildId: string | null;
  try {
    ({ buildId } = await getQueryClient().fetchQuery(trpc.builds.batch.queryOptions({ batchId })));
  } catch (err) {
    if (namesNothing(err)) notFound();
    throw err;
  }
  // Outside the try: redirect() works by throwing.
  if (buildId) redirect(buildHref(buildId));
  return (
    <HydrateClient>
      <BatchProgress batchId={batchId} />
    </HydrateClient>
  );
}
