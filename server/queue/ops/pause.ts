// Pausing a consumer group's consumption of a topic. The flag is the group's
// queue_groups row: the ready scan skips a paused group, and a fetch that
// locks one of its partitions hands nothing out and gives the lease back
// (both read the row inside statements they already send). Deliveries
// already out finish and settle as usual; other groups are untouched.
import { type AdminOptions, NOW_MS, type QueueDb } from "@/server/queue/db";
import { QueueError } from "@/server/queue/errors";
import { checkText, checkTopic, GROUP_MAX } from "@/server/queue/names";

export interface GroupPause {
  group: string;
  topic: string;
  paused: boolean;
  /** When and by whom the group was paused (database clock, ms); null while it runs. */
  pausedAt: number | null;
  pausedBy: string | null;
  /** False when it already was in the state asked for. */
  changed: boolean;
}

const BY_MAX = 191;

/**
 * Sets or clears the pause of (group, topic) in one transaction, with
 * `within` (the audit row) in it; count 1 when the state changed, 0 when it
 * already was so. A group that never subscribed to the topic is NOT_FOUND.
 */
async function setPaused(
  db: QueueDb,
  group: string,
  topic: string,
  pause: { by: string } | null,
  opts: AdminOptions,
): Promise<GroupPause> {
  checkText(group, "group", GROUP_MAX);
  checkTopic(topic);
  if (pause) checkText(pause.by, "pausedBy", BY_MAX);
  return db.tx(async (c) => {
    const [row] = await c.query<{ paused_at: number | null }>(
      "SELECT paused_at FROM queue_groups WHERE consumer_group = ? AND topic = ? FOR UPDATE",
      [group, topic],
    );
    if (!row) throw new QueueError("NOT_FOUND", `no consumer group ${group} on ${topic}`);
    const { affectedRows } = pause
      ? await c.execute(
          `UPDATE queue_groups SET paused_at = ${NOW_MS}, paused_by = ?
           WHERE consumer_group = ? AND topic = ? AND paused_at IS NULL`,
          [pause.by, group, topic],
        )
      : await c.execute(
          `UPDATE queue_groups SET paused_at = NULL, paused_by = NULL
           WHERE consumer_group = ? AND topic = ? AND paused_at IS NOT NULL`,
          [group, topic],
        );
    await opts.within?.(c, affectedRows);
    const [now] = await c.query<{ paused_at: number | null; paused_by: string | null }>(
      "SELECT paused_at, paused_by FROM queue_groups WHERE consumer_group = ? AND topic = ?",
      [group, topic],
    );
    return {
      group,
      topic,
      paused: now?.paused_at != null,
      pausedAt: now?.paused_at == null ? null : Number(now.paused_at),
      pausedBy: now?.paused_by ?? null,
      changed: affectedRows > 0,
    };
  });
}

/** Stops handing out the group's rows of the topic; `by` is kept and shown (the operator's name). */
export interface PauseOptions extends AdminOptions {
  /** Who paused the group (a user name), shown beside the pause; at most 191 characters. */
  by: string;
}

export function pauseGroup(db: QueueDb, group: string, topic: string, opts: PauseOptions): Promise<GroupPause> {
  return setPaused(db, group, topic, { by: opts.by }, opts);
}

/** Lets the group's subscribers fetch again (at their next scan). */
export function resumeGroup(db: QueueDb, group: string, topic: string, opts: AdminOptions = {}): Promise<GroupPause> {
  return setPaused(db, group, topic, null, opts);
}
