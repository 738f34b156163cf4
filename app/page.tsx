import { StatusPill } from "@/components/status-pill";
import { serverApi } from "@/server/trpc/server";

// Rendered per request: `next build` needs no database, and the status is live.
export const dynamic = "force-dynamic";

export default async function HomePage() {
  const api = await serverApi();
  const health = await api.health.ping();
  const db = health.database;

  return (
    <main>
      <h1>Sluice</h1>
      <p>A MySQL-backed work queue, a build-runner layer and the operator console for both.</p>
      <p className="muted">
        The operator console is coming: queues, deferred messages, the dead-letter queue, builds and workers will appear
        here.
      </p>
      <StatusPill
        ok={db.reachable}
        label={db.reachable ? `Database reachable · ${db.latencyMs} ms` : "Database unreachable"}
        detail={db.reachable ? undefined : db.error}
      />
    </main>
  );
}
