import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { BuildDetailView } from "@/components/builds/build-detail";
import { getQueryClient, HydrateClient, trpc } from "@/server/trpc/rsc";
import { namesNothing } from "../missing";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ id: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  return { title: `Build ${id} · Sluice` };
}

export default async function BuildPage({ params }: Props) {
  const { id } = await params;
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
