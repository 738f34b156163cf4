"use client";
// Whether the database answers, checked again every 15 s (paused while the tab is hidden).
import { useQuery } from "@tanstack/react-query";
import { StatusPill } from "./status-pill";
import { useTRPC } from "./trpc-provider";

export function DatabaseStatus() {
  const trpc = useTRPC();
  const ping = useQuery(trpc.health.ping.queryOptions(undefined, { refetchInterval: 15_000 }));
  if (ping.isPending) return <StatusPill ok={false} pending label="Checking the database…" />;
  if (ping.isError) return <StatusPill ok={false} label="Web server unreachable" detail={ping.error.message} />;
  const db = ping.data.database;
  return (
    <StatusPill
      ok={db.reachable}
      label={db.reachable ? `Database reachable · ${db.latencyMs} ms` : "Database unreachable"}
      detail={db.reachable ? undefined : db.error}
    />
  );
}
