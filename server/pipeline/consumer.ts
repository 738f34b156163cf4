// The consumer framework: a controller returns to ack (or acks itself in its
// own transaction and says so), throws a
// RetryableError (or hits a transient database error) to nack with backoff,
// throws anything else to dead-letter with its reason. A payload that is not
// the topic's JSON shape goes to the DLQ before any controller sees it: a bad
// message never crashes the worker.
import type { z } from "zod";
import { errorMessage, type Logger } from "@/server/log";
import { type Delivery, isTransientError, type Queue, type SubscriptionInput } from "@/server/queue";

export class RetryableError extends Error {
  /** When the failure says when to try again (a rate limit's reset), ms: the nack waits that long instead of the backoff. */
  readonly retryAfterMs?: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.name = "RetryableError";
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A retryAfterMs on the error or on one of its causes (a runner's rate-limit error wrapped by a controller). */
export function retryAfterMsOf(err: unknown): number | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const ms = (e as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof ms === "number" && Number.isFinite(ms) && ms >= 0) return ms;
  }
  return undefined;
}

/** A handler returns this when it settled the delivery itself (in a transaction of its own writes). */
export type Settled = "settled";

export interface ConsumerSpec<T> {
  topic: string;
  schema: z.ZodType<T>;
  /** Resolves to ack; resolves "settled" when it acked in its own transaction (the framework then does nothing). */
  handle(payload: T, delivery: Delivery): Promise<Settled | undefined>;
}

export interface ConsumerOptions {
  subscriberName: string;
  consumerGroup: string;
  /** Deliveries handled at once (one partition's in order). Default 8. */
  concurrency?: number;
  /** Nack delay for attempt n, ms. Default 1 s, 2 s, 4 s ... capped at 60 s. */
  backoffMs?: (attempt: number) => number;
  subscription?: Omit<SubscriptionInput, "subscriberName" | "consumerGroup">;
  log: Logger;
}

export const defaultBackoff = (attempt: number) => Math.min(60_000, 1000 * 2 ** Math.max(0, attempt - 1));

export function decodePayload<T>(
  schema: z.ZodType<T>,
  payload: Buffer,
): { ok: true; value: T } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString("utf8"));
  } catch (err) {
    return { ok: false, reason: `malformed payload: not JSON (${errorMessage(err)})` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: `malformed payload: ${issue?.path.join(".") || "payload"} ${issue?.message ?? "is invalid"}`,
    };
  }
  return { ok: true, value: parsed.data };
}

function isRetryable(err: unknown): boolean {
  return err instanceof RetryableError || isTransientError(err);
}

export interface RunningConsumer {
  /** Resolves when the subscription has ended and every handler has finished. */
  done: Promise<void>;
  /** Graceful: stops taking deliveries, lets handlers finish, releases leases. */
  stop(): Promise<void>;
}

export function runConsumer<T>(queue: Queue, spec: ConsumerSpec<T>, opts: ConsumerOptions): RunningConsumer {
  const log = opts.log.child({ topic: spec.topic, group: opts.consumerGroup });
  const sub = queue.subscriber.subscribe(spec.topic, {
    ...opts.subscription,
    subscriberName: opts.subscriberName,
    consumerGroup: opts.consumerGroup,
  });
  const backoff = opts.backoffMs ?? defaultBackoff;
  const limit = opts.concurrency ?? 8;
  const running = new Set<Promise<void>>();
  // One chain per partition: its deliveries are handled in order.
  const chains = new Map<string, Promise<void>>();

  async function handle(d: Delivery) {
    const fields = { partition: d.message.partitionKey, messageId: d.message.id, attempt: d.attempt };
    const decoded = decodePayload(spec.schema, d.message.payload);
    try {
      if (!decoded.ok) {
        log.warn("dead-lettering a malformed message", { ...fields, reason: decoded.reason });
        await d.reject(decoded.reason);
        return;
      }
      let outcome: Settled | undefined;
      try {
        outcome = await spec.handle(decoded.value, d);
      } catch (err) {
        const reason = errorMessage(err) || "handler failed";
        if (isRetryable(err)) {
          log.warn("handler failed; will retry", { ...fields, reason });
          await d.nack({ requeueAfterMs: retryAfterMsOf(err) ?? backoff(d.attempt), reason });
        } else {
          log.error("handler failed; dead-lettering", { ...fields, reason });
          await d.reject(reason);
        }
        return;
      }
      if (outcome !== "settled") await d.ack();
    } catch (err) {
      // Settling failed (the delivery expired, or the database is away): it comes back by itself.
      log.warn("could not settle a delivery", { ...fields, reason: errorMessage(err) });
    }
  }

  const done = (async () => {
    const it = sub[Symbol.asyncIterator]();
    for (;;) {
      while (running.size >= limit) await Promise.race(running);
      const r = await it.next();
      if (r.done) break;
      const d = r.value;
      const key = d.message.partitionKey;
      const job = (chains.get(key) ?? Promise.resolve()).then(() => handle(d));
      chains.set(key, job);
      running.add(job);
      void job.finally(() => {
        running.delete(job);
        if (chains.get(key) === job) chains.delete(key);
      });
    }
    await Promise.all(running);
  })();

  return {
    done,
    async stop() {
      await sub.close();
      await done;
    },
  };
}
