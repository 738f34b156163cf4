// The setup every queue test file shares: a fresh database (its own, dropped
// afterwards) and a queue over it; subscriptions passed to `track` are closed
// after each test, so a failing test leaves no lease behind for the next.
import { afterAll, afterEach, beforeAll } from "vitest";
import { createQueue, type Queue, type Subscription } from "@/server/queue";
import { openDb, type QueueDb } from "@/server/queue/db";
import { freshDatabase, type TestDatabase } from "./db";

export interface QueueSuite {
  readonly db: TestDatabase;
  readonly queue: Queue;
  /** The queue's own database access, for tests that drive its internals (a held transaction, a job runner). */
  readonly raw: QueueDb;
  track<T extends Subscription>(sub: T): T;
}

export function queueSuite(label: string): QueueSuite {
  let db: TestDatabase | undefined;
  let queue: Queue | undefined;
  let raw: QueueDb | undefined;
  const open: Subscription[] = [];
  beforeAll(async () => {
    db = await freshDatabase(label);
    queue = createQueue({ url: db.url });
    raw = openDb(db.url, 2);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await queue?.close();
    await raw?.end();
    await db?.drop();
  });
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} is made in beforeAll: use it inside a test`);
    return v;
  };
  return {
    get db() {
      return ready(db, "the test database");
    },
    get queue() {
      return ready(queue, "the queue");
    },
    get raw() {
      return ready(raw, "the raw database access");
    },
    track(sub) {
      open.push(sub);
      return sub;
    },
  };
}
