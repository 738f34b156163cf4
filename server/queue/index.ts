// Sluice's queue: one immutable MySQL log, consumer groups with their own
// delivery state, partition leases, a DLQ. Knows nothing of Next.js, tRPC or
// React. The schema comes from the project's migrations (npm run db:migrate);
// createQueue never creates tables.
import { collectGarbage, type DlqAddress, requeueDeadLetter } from "./admin";
import { openDb } from "./db";
import { QueueError } from "./errors";
import { checkTopic } from "./names";
import { parseQueueOptions, parseSubscriptionOptions, type QueueOptions } from "./options";
import { createPublisher } from "./publisher";
import { QueueSubscription } from "./subscription";
import type { Publisher, Subscriber } from "./types";

export type { DlqAddress } from "./admin";
export { classifyMysqlError, QueueError, type QueueErrorCode } from "./errors";
export { occasionId, uniqueOccasionId } from "./ids";
export type { QueueOptions, SubscriptionInput, SubscriptionOptions } from "./options";
export type {
  DeliveredMessage,
  Delivery,
  Failure,
  Message,
  Publisher,
  Subscriber,
  Subscription,
} from "./types";

export const DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/sluice";

export interface Queue {
  publisher: Publisher;
  subscriber: Subscriber;
  admin: {
    requeueDeadLetter(address: DlqAddress): Promise<void>;
    collectGarbage(opts?: { maxRowsPerPartition?: number }): Promise<number>;
  };
  /** Statements this queue has sent to the database (for idle-cost measurements). */
  statementCount(): number;
  /** Ends every subscription, releases leases, closes the pool. */
  close(): Promise<void>;
}

export function createQueue(options: QueueOptions = {}): Queue {
  const opts = parseQueueOptions(options);
  const url = opts.url ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const db = openDb(url, opts.connectionLimit);
  const subscriptions = new Set<QueueSubscription>();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new QueueError("CLOSED", "the queue is closed");
  };

  return {
    // Subscribers in this process hear of a publish at once; others find it at their next poll.
    publisher: createPublisher(db, opts.maxPayloadBytes, {
      isClosed: () => closed,
      published: (topic) => {
        for (const s of subscriptions) if (s.id.topic === topic) s.wake();
      },
    }),
    subscriber: {
      subscribe(topic, config) {
        assertOpen();
        checkTopic(topic);
        const s = new QueueSubscription(db, topic, parseSubscriptionOptions(config), (x) => subscriptions.delete(x));
        subscriptions.add(s);
        return s;
      },
    },
    admin: {
      async requeueDeadLetter(a) {
        assertOpen();
        return requeueDeadLetter(db, a);
      },
      async collectGarbage(o) {
        assertOpen();
        return collectGarbage(db, o);
      },
    },
    statementCount: () => db.statements(),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...subscriptions].map((s) => s.close()));
      await db.end();
    },
  };
}
