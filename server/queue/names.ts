import { invalid } from "./errors";

/** Column widths in db/schema.ts. */
export const TOPIC_MAX = 150; // leaves room for a DLQ suffix within the 191-wide column
export const DLQ_SUFFIX_MAX = 40;
export const ID_MAX = 255;
export const PARTITION_KEY_MAX = 255;
export const GROUP_MAX = 191;

const NAME = /^[A-Za-z0-9._:/-]+$/;

export function checkTopic(topic: unknown, what = "topic"): string {
  if (typeof topic !== "string" || topic.length === 0) throw invalid(`${what} must be a non-empty string`);
  if (topic.length > TOPIC_MAX) throw invalid(`${what} is ${topic.length} characters; the limit is ${TOPIC_MAX}`);
  if (!NAME.test(topic)) throw invalid(`${what} "${topic}" may hold only letters, digits and . _ : / -`);
  return topic;
}

export function checkText(value: unknown, what: string, max: number): string {
  if (typeof value !== "string" || value.length === 0) throw invalid(`${what} must be a non-empty string`);
  if (value.length > max) throw invalid(`${what} is ${value.length} characters; the limit is ${max}`);
  return value;
}
