// Subscription settings: each field says its default and unit. Validated with
// zod when `subscribe` is called; a bad value throws a QueueError naming it.
import { z } from "zod";
import { invalid } from "./errors";
import type { QueueEventListener } from "./events";
import { DLQ_SUFFIX_MAX, GROUP_MAX } from "./names";
import { DEFAULT_TRAFFIC_RETENTION_DAYS } from "./rollup";

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

export const subscriptionOptionsSchema = z
  .object({
    /** Shown in the console next to the leases this subscriber holds. Required. */
    subscriberName: z.string().min(1).max(GROUP_MAX),
    /** Consumer group: each group sees every message once. Required. */
    consumerGroup: z
      .string()
      .min(1)
      .max(GROUP_MAX)
      .regex(/^[A-Za-z0-9._:/-]+$/),
    /** Pause between polls when nothing is ready, ms. Default 100. */
    pollIntervalMs: ms(1, 60_000).default(100),
    /** Rows fetched per partition per poll; 1 gives strict serialization. Default 10. */
    batchSize: z.number().int().min(1).max(1000).default(10),
    /** How long a delivery stays invisible to others before it comes back with attempt + 1, ms. Default 60,000. */
    visibilityTimeoutMs: ms(100, 12 * 3600_000).default(60_000),
    /** How often leases are renewed and the heartbeat written, ms. Default 10,000. */
    leaseRenewalIntervalMs: ms(10, 3600_000).default(10_000),
    /** A lease not renewed within this long may be taken over, ms. Default 30,000. */
    leaseDurationMs: ms(50, 3 * 3600_000).default(30_000),
    /** Failed deliveries (nack, or visibility timeout) before the DLQ. Default 3. */
    maxAttempts: z.number().int().min(1).max(1000).default(3),
    /** How long `close` waits for handed-out deliveries to be settled, ms. Default 10,000. */
    closeTimeoutMs: ms(0, 3600_000).default(10_000),
    dlq: z
      .object({
        /** Default true. When false, a message past maxAttempts is dropped for the group (the reason stays in its delivery row until garbage collection). */
        enabled: z.boolean().default(true),
        /** DLQ topic = topic + suffix. Default "_dlq". */
        topicSuffix: z
          .string()
          .min(1)
          .max(DLQ_SUFFIX_MAX)
          .regex(/^[A-Za-z0-9._:/-]+$/)
          .default("_dlq"),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((o) => o.leaseRenewalIntervalMs < o.leaseDurationMs, {
    message: "leaseRenewalIntervalMs must be shorter than leaseDurationMs",
    path: ["leaseRenewalIntervalMs"],
  });

export type SubscriptionOptions = z.output<typeof subscriptionOptionsSchema>;
export type SubscriptionInput = z.input<typeof subscriptionOptionsSchema>;

export function parseSubscriptionOptions(input: unknown): SubscriptionOptions {
  const r = subscriptionOptionsSchema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path.join(".") || "options";
  throw invalid(`subscription option ${path}: ${issue?.message ?? "invalid"}`);
}

export const queueOptionsSchema = z
  .object({
    /** mysql://user:pass@host:port/db. Default: $DATABASE_URL, else mysql://root@127.0.0.1:3306/sluice. */
    url: z
      .string()
      .regex(/^mysql:\/\//, "must start with mysql://")
      .optional(),
    /** Pool size. Default 10. */
    connectionLimit: z.number().int().min(1).max(500).default(10),
    /** Called for each publish, delivery, settle and poll (metrics). Default: none. */
    onEvent: z.custom<QueueEventListener>((v) => typeof v === "function", "must be a function").optional(),
    /** Largest payload accepted by publish, bytes. Default 1 MiB. */
    maxPayloadBytes: z
      .number()
      .int()
      .min(1)
      .max(8 * 1024 * 1024)
      .default(1024 * 1024),
    /** Days of per-minute traffic (the console's charts) that garbage collection keeps. Default 7. */
    trafficRetentionDays: z.number().int().min(1).max(3650).default(DEFAULT_TRAFFIC_RETENTION_DAYS),
  })
  .strict();

export type QueueOptions = z.input<typeof queueOptionsSchema>;

export function parseQueueOptions(input: unknown) {
  const r = queueOptionsSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw invalid(`queue option ${issue?.path.join(".") || "options"}: ${issue?.message ?? "invalid"}`);
}
