// What a build request and a build-list filter may contain, as zod schemas
// shared by the tRPC routers (server-side validation) and the console's form
// (the same checks in the browser, before anything is sent). Pure: zod and
// constants only, so pages may import it without pulling in mysql2.
//
// Messages quote the offending value, so an error shown beside a multi-line
// field still says which line is wrong.
import { z } from "zod";
import { BUILD_STATUSES } from "@/server/buildrunner/types";

export const BUILD_REQUEST_LIMITS = {
  queueName: 191,
  uri: 2048,
  changes: 50,
  urisPerChange: 50,
  metadataEntries: 50,
  metadataKey: 100,
  metadataValue: 1000,
  /**
   * The whole request as JSON. The batch's columns and the command runner's
   * spec are TEXT (64 KiB), and a command build gets base, head and metadata
   * in environment variables: far below what 50 × 50 URIs of 2 KiB would be.
   */
  requestBytes: 60_000,
  pageSize: 200,
} as const;

const L = BUILD_REQUEST_LIMITS;

/** A value as it may appear inside a message: quoted, and cut short. */
export function quoted(value: unknown): string {
  const text = typeof value === "string" ? value : String(value);
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}…` : text);
}

export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9._:/-]+$/;

export const queueNameSchema = z
  .string({ error: "Enter a queue name." })
  // abort: an empty name gets this message only, not the pattern's too.
  .min(1, { error: "Enter a queue name.", abort: true })
  .max(L.queueName, `A queue name has at most ${L.queueName} characters.`)
  .regex(QUEUE_NAME_PATTERN, {
    error: (iss) => `${quoted(iss.input)} is not a queue name: use letters, digits and . _ : / - only.`,
  });

/** scheme://rest, where the scheme is a URI scheme (RFC 3986) and the rest has no white space. */
export const CHANGE_URI_PATTERN = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S+$/;

export const changeUriSchema = z
  .string()
  .min(1, { error: "A change URI cannot be empty.", abort: true })
  .max(L.uri, { error: (iss) => `${quoted(iss.input)} is longer than ${L.uri} characters.` })
  .regex(CHANGE_URI_PATTERN, {
    error: (iss) => `${quoted(iss.input)} is not a URI like github://org/repo/pull/123/<sha>.`,
  });

export const changeSchema = z
  .object({
    uris: z
      .array(changeUriSchema)
      .min(1, "A change needs at least one URI.")
      .max(L.urisPerChange, {
        error: (iss) =>
          `A change has at most ${L.urisPerChange} URIs; one has ${Array.isArray(iss.input) ? iss.input.length : "more"}.`,
      }),
  })
  .strict();

const changesSchema = (what: string) =>
  z.array(changeSchema).max(L.changes, {
    error: (iss) =>
      `At most ${L.changes} ${what} changes; got ${Array.isArray(iss.input) ? iss.input.length : "more"}.`,
  });

/** The prefix assumed good (earlier batches): may be empty. */
export const baseChangesSchema = changesSchema("base");
/** The changes to verify: at least one, or there is nothing to build. */
export const headChangesSchema = changesSchema("head").min(1, "Enter at least one head change to verify.");

/** Metadata keys the pipeline sets itself (idempotency key, requester). */
export const RESERVED_METADATA_KEYS = ["requester"];
const RESERVED_PREFIX = "sluice.";

export const metadataSchema = z.record(z.string(), z.string()).superRefine((metadata, ctx) => {
  const entries = Object.entries(metadata);
  if (entries.length > L.metadataEntries) {
    ctx.addIssue({ code: "custom", message: `At most ${L.metadataEntries} entries; got ${entries.length}.` });
  }
  for (const [key, value] of entries) {
    if (key.length === 0) ctx.addIssue({ code: "custom", message: "A metadata key cannot be empty." });
    else if (key.length > L.metadataKey) {
      ctx.addIssue({ code: "custom", message: `Key ${quoted(key)} is longer than ${L.metadataKey} characters.` });
    } else if (key.startsWith(RESERVED_PREFIX) || RESERVED_METADATA_KEYS.includes(key)) {
      ctx.addIssue({ code: "custom", message: `Key ${quoted(key)} is reserved: Sluice sets it itself.` });
    }
    if (value.length > L.metadataValue) {
      ctx.addIssue({
        code: "custom",
        message: `The value of ${quoted(key)} is longer than ${L.metadataValue} characters.`,
      });
    }
  }
});

/** builds.trigger's input: a batch to build on a queue. */
export const buildRequestSchema = z
  .object({
    queue: queueNameSchema,
    base: baseChangesSchema.default([]),
    head: headChangesSchema,
    metadata: metadataSchema.default({}),
  })
  .strict()
  .superRefine((request, ctx) => {
    const bytes = new TextEncoder().encode(
      JSON.stringify({ base: request.base, head: request.head, metadata: request.metadata }),
    ).length;
    if (bytes > L.requestBytes) {
      ctx.addIssue({
        code: "custom",
        message: `The changes and metadata come to ${bytes} bytes; at most ${L.requestBytes} fit in one build request.`,
      });
    }
  });

export type BuildRequest = z.infer<typeof buildRequestSchema>;

export const buildStatusSchema = z.enum(BUILD_STATUSES);

/** The filters of the build list (also kept in the page's URL). */
export const buildFilterSchema = z.object({
  status: buildStatusSchema.optional(),
  queue: queueNameSchema.optional(),
});

export type BuildFilter = z.infer<typeof buildFilterSchema>;

export const pageSizeSchema = z
  .number()
  .int()
  .min(1, "A page has at least 1 row.")
  .max(L.pageSize, `A page has at most ${L.pageSize} rows.`);
