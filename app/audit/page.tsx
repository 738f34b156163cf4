import type { Metadata } from "next";
import { AuditLog } from "@/components/audit/audit-log";
import { HydrateClient } from "@/server/trpc/rsc";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Audit log · Sluice" };

function one(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s && s.length <= 128 ? s : undefined;
}

export default async function AuditPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const q = await searchParams;
  return (
    <HydrateClient>
      <AuditLog view={{ actor: one(q.actor), action: one(q.action) }} />
    </HydrateClient>
  );
}
