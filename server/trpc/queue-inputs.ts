// Bounds for every queue-console input, in one place: the routers validate
// with these before the library sees anything, so a bad value is a
// BAD_REQUEST naming the field, never a slow or malformed query.
import { z } from "zod";

const NAME = /^[A-Za-z0-9._:/-]+$/;

/** A topic (DLQ topics included): the column is 191 wide. */
export const topicName = z.string().min(1).max(191).regex(NAME, "may hold only letters, digits and . _ : / -");

/** A consumer group name, as the library accepts it. */
export const groupName = z.string().min(1).max(191).regex(NAME, "may hold only letters, digits and . _ : / -");

export const partitionKey = z.string().min(1).max(255);

/** Sequence numbers and log ids: positive safe integers. */
export const positiveInt = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const pageSize = z.number().int().min(1).max(200).default(50);

/** Free-text search; empty means no search. */
export const searchText = z.string().max(200);

/** Addresses one row exactly (never "every row that shares an id"). */
export const messageAddress = z.object({ topic: topicName, partitionKey, seq: positiveInt });

/** Bulk actions on picked rows; more than this goes through a job. */
export const MAX_SELECTED = 500;
export const addressList = z.array(messageAddress).min(1).max(MAX_SELECTED);

export const dlqFilter = z.object({
  topic: topicName,
  search: searchText.optional(),
  failureGroup: z.string().min(1).max(191).optional(),
  originalGroup: groupName.optional(),
});
export type DlqFilterInput = z.infer<typeof dlqFilter>;

/** Requeue pacing: rows per second. */
export const ratePerSecond = z.number().int().min(1).max(1000).default(200);

export const jobId = z.string().min(1).max(64);

/** How far back a traffic chart reaches: the last hour or the last 24 hours (server/queue/ops/traffic.ts). */
export const trafficRange = z.enum(["1h", "24h"]);
