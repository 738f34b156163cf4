// The queue pages' addresses. Every filter lives in the query string, so a
// view can be linked, bookmarked and reloaded.

export type SearchParams = Record<string, string | string[] | undefined>;

/** The first value of a query parameter, trimmed; undefined when blank. */
export function param(params: SearchParams, name: string): string | undefined {
  const v = params[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s?.trim() || undefined;
}

function withQuery(path: string, query: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/**
 * Topic names hold only [A-Za-z0-9._:/-], never "%": a segment that still
 * has one was not decoded yet (so "/" in a name survives either way).
 */
export function topicFromSegment(segment: string): string {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export interface TopicView {
  group?: string;
  state?: string;
  partition?: string;
}

export function topicHref(topic: string, view: TopicView = {}): string {
  return withQuery(`/topics/${encodeURIComponent(topic)}`, { ...view });
}

/** A message's detail page; the partition key goes in the query string (it may hold any character). */
export function messageHref(topic: string, partitionKey: string, seq: number): string {
  return withQuery(`/topics/${encodeURIComponent(topic)}/message`, { pk: partitionKey, seq });
}

export function deferredHref(topic?: string): string {
  return withQuery("/deferred", { topic });
}

export interface DlqView {
  topic?: string;
  q?: string;
  /** A failure group (normalised reason). */
  fg?: string;
  /** The consumer group the messages failed in. */
  og?: string;
  /** The open detail: partition key and seq. */
  pk?: string;
  seq?: number;
  /** A requeue or purge job whose progress to show (the audit log links here). */
  job?: string;
}

export function dlqHref(view: DlqView = {}): string {
  return withQuery("/dlq", { ...view });
}
