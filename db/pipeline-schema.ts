// The pipeline's tables: batches to verify, the builds that verify them with
// their status history, and the command runner's own state. Times are ms on
// the database's clock.
import { bigint, index, int, mysqlTable, text, tinyint, uniqueIndex, varchar } from "drizzle-orm/mysql-core";
import type { BuildStatus } from "@/server/buildrunner/types";

const ms = (name: string) => bigint(name, { mode: "number", unsigned: true });

/** A set of changes to verify on a queue: base (assumed good) then head. */
export const batches = mysqlTable(
  "batches",
  {
    id: varchar("id", { length: 64 }).primaryKey(),
    queue: varchar("queue", { length: 191 }).notNull(),
    base: text("base").notNull(), // JSON Change[]
    head: text("head").notNull(), // JSON Change[]
    metadata: text("metadata").notNull(), // JSON Record<string, string>
    requester: varchar("requester", { length: 191 }).notNull(),
    // pending → building → done; a queue with maxConcurrentBuilds: pending → waiting (no slot free) → building → done.
    // On such a queue, "building" is what holds a slot, from before the trigger to the verdict.
    state: varchar("state", { length: 16 }).notNull(),
    // succeeded | failed | cancelled, once done
    verdict: varchar("verdict", { length: 16 }),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [
    index("batches_state").on(t.state, t.createdAt),
    // A capped queue's slots in use (queue, building) and its waiting batches, oldest first (queue, waiting).
    index("batches_queue_state").on(t.queue, t.state, t.createdAt),
  ],
);

/**
 * One row per queue with a cap on concurrent builds: its lock serializes
 * taking and handing over the queue's slots, so two workers never both take
 * the last one. Holds no count: the batches in state building are the count.
 */
export const buildQueueSlots = mysqlTable("build_queue_slots", {
  queue: varchar("queue", { length: 191 }).primaryKey(),
});

/** One build per batch. */
export const builds = mysqlTable(
  "builds",
  {
    id: varchar("id", { length: 191 }).primaryKey(),
    batchId: varchar("batch_id", { length: 64 }).notNull(),
    runner: varchar("runner", { length: 32 }).notNull(),
    queue: varchar("queue", { length: 191 }).notNull(),
    status: varchar("status", { length: 16 }).$type<BuildStatus>().notNull(),
    metadata: text("metadata").notNull(), // JSON, the runner's last answer
    // The generation of the one live poll message; see buildsignalController in server/pipeline/controllers.ts.
    pollGeneration: int("poll_generation", { unsigned: true }).notNull().default(0),
    statusCalls: int("status_calls", { unsigned: true }).notNull().default(0),
    // Status calls that failed since the last one that answered; at the queue's maxStatusFailures the build fails.
    statusFailures: int("status_failures", { unsigned: true }).notNull().default(0),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
    finishedAt: ms("finished_at"),
  },
  (t) => [
    uniqueIndex("builds_batch").on(t.batchId),
    // The console's build list, newest first, keyset-paged on (created_at, id):
    // unfiltered, by status, by queue (InnoDB appends the primary key, id, to each).
    index("builds_created").on(t.createdAt),
    index("builds_status").on(t.status, t.createdAt),
    index("builds_queue").on(t.queue, t.createdAt),
  ],
);

export const buildStatusHistory = mysqlTable(
  "build_status_history",
  {
    id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
    buildId: varchar("build_id", { length: 191 }).notNull(),
    status: varchar("status", { length: 16 }).$type<BuildStatus>().notNull(),
    metadata: text("metadata").notNull(),
    at: ms("at").notNull(),
  },
  (t) => [index("build_status_history_build").on(t.buildId, t.id)],
);

/**
 * The command runner's builds. The process runs detached from the worker that
 * started it and writes its exit code to a file, so its outcome survives a
 * worker restart; any worker on the same host can read it.
 */
export const commandBuilds = mysqlTable(
  "command_builds",
  {
    id: varchar("id", { length: 64 }).primaryKey(),
    idempotencyKey: varchar("idempotency_key", { length: 255 }),
    queue: varchar("queue", { length: 191 }).notNull(),
    command: text("command").notNull(),
    spec: text("spec").notNull(), // JSON { base, head, metadata }
    status: varchar("status", { length: 16 }).$type<BuildStatus>().notNull(),
    host: varchar("host", { length: 255 }).notNull(),
    workDir: varchar("work_dir", { length: 1024 }).notNull(),
    // The runner instance that claimed the launch: two workers on one host never start it twice.
    launcher: varchar("launcher", { length: 64 }),
    // Last time a runner on `host` looked at the process; stale means no worker is watching it.
    checkedAt: ms("checked_at"),
    pid: int("pid", { unsigned: true }),
    // Start time of the process (clock ticks since boot), to tell it from a later process with the same pid.
    procStart: varchar("proc_start", { length: 32 }),
    exitCode: int("exit_code"),
    outputTail: text("output_tail"),
    reason: text("reason"),
    cancelRequested: tinyint("cancel_requested", { unsigned: true }).notNull().default(0),
    createdAt: ms("created_at").notNull(),
    startedAt: ms("started_at"),
    finishedAt: ms("finished_at"),
  },
  (t) => [uniqueIndex("command_builds_key").on(t.idempotencyKey), index("command_builds_host").on(t.host, t.status)],
);
