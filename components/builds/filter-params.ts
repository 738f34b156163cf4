// The build list's filters as they live in the URL (/builds?status=failed&queue=main):
// parsed the same way by the page (server) and the filter bar (browser).
import { type BuildFilter, buildStatusSchema, queueNameSchema } from "@/server/pipeline/build-request-schema";

export const BUILDS_PAGE_SIZE = 50;
/** How often the list and a running build's page ask again, ms (paused while the tab is hidden). */
export const BUILDS_LIVE_MS = 2_000;

type SearchParams = Record<string, string | string[] | undefined>;

function first(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.trim() || undefined;
}

/** The valid filters, and the names of those that were given but invalid (they are ignored). */
export function parseBuildFilter(params: SearchParams): { filter: BuildFilter; ignored: string[] } {
  const filter: BuildFilter = {};
  const ignored: string[] = [];
  const status = first(params.status);
  if (status) {
    const parsed = buildStatusSchema.safeParse(status);
    if (parsed.success) filter.status = parsed.data;
    else ignored.push("status");
  }
  const queue = first(params.queue);
  if (queue) {
    const parsed = queueNameSchema.safeParse(queue);
    if (parsed.success) filter.queue = parsed.data;
    else ignored.push("queue");
  }
  return { filter, ignored };
}

export function buildsHref(filter: BuildFilter): string {
  const params = new URLSearchParams();
  if (filter.status) params.set("status", filter.status);
  if (filter.queue) params.set("queue", filter.queue);
  const query = params.toString();
  return query ? `/builds?${query}` : "/builds";
}

export function buildHref(id: string): string {
  return `/builds/${encodeURIComponent(id)}`;
}
