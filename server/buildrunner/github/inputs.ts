// What a dispatch sends as the workflow's inputs: the correlation id (always,
// under its own input name, so the workflow can show it in `run-name`) and
// whatever the queue's `inputs` mapping asks for, each a string as
// workflow_dispatch wants them.
import type { BuildMetadata, Change } from "@/server/buildrunner/types";
import { IDEMPOTENCY_KEY } from "@/server/buildrunner/types";

export const INPUT_SOURCES = ["queue", "base", "head", "baseUris", "headUris", "metadata", "requester"] as const;
export type InputSource = (typeof INPUT_SOURCES)[number] | { value: string };

/** GitHub's limits: at most 25 inputs, 65,535 characters of them in all. */
export const MAX_INPUTS = 25;
export const MAX_INPUTS_CHARS = 65_535;
export const INPUT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,99}$/;
export const DEFAULT_ID_INPUT = "sluice_id";

export function workflowInputs(opts: {
  mapping: Record<string, InputSource>;
  idInput: string;
  correlationId: string;
  queue: string;
  base: Change[];
  head: Change[];
  metadata: BuildMetadata;
}): Record<string, string> {
  const { [IDEMPOTENCY_KEY]: _key, ...shown } = opts.metadata;
  const value = (source: InputSource): string => {
    if (typeof source === "object") return source.value;
    switch (source) {
      case "queue":
        return opts.queue;
      case "base":
        return JSON.stringify(opts.base);
      case "head":
        return JSON.stringify(opts.head);
      case "baseUris":
        return opts.base.flatMap((c) => c.uris).join(" ");
      case "headUris":
        return opts.head.flatMap((c) => c.uris).join(" ");
      case "metadata":
        return JSON.stringify(shown);
      case "requester":
        return opts.metadata.requester ?? "";
    }
  };
  const inputs: Record<string, string> = {};
  for (const [name, source] of Object.entries(opts.mapping)) inputs[name] = value(source);
  inputs[opts.idInput] = opts.correlationId;
  const chars = Object.entries(inputs).reduce((n, [k, v]) => n + k.length + v.length, 0);
  if (chars > MAX_INPUTS_CHARS) {
    throw new Error(
      `the workflow inputs come to ${chars} characters, over GitHub's ${MAX_INPUTS_CHARS}: map fewer or smaller sources`,
    );
  }
  return inputs;
}
