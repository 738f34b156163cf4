// The DLQ page's view as it lives in the URL
// (/dlq?topic=orders_dlq&q=timeout&fg=…&og=billing&pk=p1&seq=42): parsed the
// same way by the page (server) and the components (browser), within the
// bounds the routers enforce, so a hand-edited link never becomes a 400.
import { type DlqView, param, type SearchParams } from "./hrefs";

const NAME = /^[A-Za-z0-9._:/-]{1,191}$/;

export interface DlqFilterView {
  topic: string;
  search?: string;
  failureGroup?: string;
  originalGroup?: string;
}

export function parseDlqView(params: SearchParams): { view: DlqView; ignored: string[] } {
  const view: DlqView = {};
  const ignored: string[] = [];
  const topic = param(params, "topic");
  if (topic) {
    if (NAME.test(topic)) view.topic = topic;
    else ignored.push("topic");
  }
  const q = param(params, "q");
  if (q) {
    if (q.length <= 200) view.q = q;
    else ignored.push("search");
  }
  const fg = param(params, "fg");
  if (fg) {
    if (fg.length <= 191) view.fg = fg;
    else ignored.push("failure group");
  }
  const og = param(params, "og");
  if (og) {
    if (NAME.test(og)) view.og = og;
    else ignored.push("original group");
  }
  const job = param(params, "job");
  if (job) {
    if (job.length <= 64) view.job = job;
    else ignored.push("job");
  }
  const pk = param(params, "pk");
  const seq = Number(param(params, "seq"));
  if (pk && pk.length <= 255 && Number.isSafeInteger(seq) && seq > 0) {
    view.pk = pk;
    view.seq = seq;
  }
  return { view, ignored };
}

/** The library filter for a view on `topic` (blank parts left out). */
export function dlqFilterOf(topic: string, view: DlqView): DlqFilterView {
  return {
    topic,
    ...(view.q ? { search: view.q } : {}),
    ...(view.fg ? { failureGroup: view.fg } : {}),
    ...(view.og ? { originalGroup: view.og } : {}),
  };
}

/** "matching “timeout” in group billing" — what the filter is, in words, for buttons and confirmations. */
export function describeFilter(f: DlqFilterView): string {
  const parts: string[] = [];
  if (f.search) parts.push(`matching “${f.search}”`);
  if (f.failureGroup) parts.push(`failing with “${f.failureGroup}”`);
  if (f.originalGroup) parts.push(`from group ${f.originalGroup}`);
  return parts.join(", ");
}
