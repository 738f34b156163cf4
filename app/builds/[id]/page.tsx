import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { namesNothing } from "@/app/builds/missing";
import { BuildDetailView } from "@/components/builds/build-detail";
import { getQueryClient, HydrateClient, trpc } from "@/server/trpc/rsc";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ id: string }> };

/**
 * The build id from its path segment. Next hands the segment over still
 * percent-encoded, and CI build ids carry ":" and "/" (github:acme/web/123),
 * which buildHref encodes.
 */
function buildIdOf(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const id = buildIdOf((await params).id);
  return { title: `Build ${id} · Sluice` };
}

export default async function BuildPage({ params }: Props) {
  const id = buildIdOf((await params).id);
  try {
    // fetchQuery, not prefetchQuery: an unknown build is a 404 page, not an empty one.
    await getQueryClient().fetchQuery(trpc.builds.get.queryOptions({ id }));
  } catch (err) {
    if (namesNothing(err)) notFound();
    throw err;
  }
  return (
    <HydrateClient>
      <BuildDetailView id={id} />
    </HydrateClient>
  );
}
