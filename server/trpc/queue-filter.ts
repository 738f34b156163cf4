import type { DlqFilter } from "@/server/queue";
import type { DlqFilterInput } from "./queue-inputs";

/** A blank search box means "no search", not "matches the empty string". */
export function toDlqFilter(input: DlqFilterInput): DlqFilter {
  const search = input.search?.trim();
  return {
    topic: input.topic,
    ...(search ? { search } : {}),
    ...(input.failureGroup !== undefined ? { failureGroup: input.failureGroup } : {}),
    ...(input.originalGroup !== undefined ? { originalGroup: input.originalGroup } : {}),
  };
}
