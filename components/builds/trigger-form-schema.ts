// The trigger form's text fields → builds.trigger's input, validated by the
// very schemas the server uses (server/pipeline/build-request-schema.ts):
// whatever passes here passes there, and the messages are the same.
import { z } from "zod";
import {
  type BuildRequest,
  baseChangesSchema,
  buildRequestSchema,
  headChangesSchema,
  metadataSchema,
  queueNameSchema,
  quoted,
} from "@/server/pipeline/build-request-schema";

export interface TriggerFormValues {
  queue: string;
  /** One change per line; a change's URIs separated by spaces. */
  base: string;
  head: string;
  /** key=value per line. */
  metadata: string;
}

export type TriggerField = keyof TriggerFormValues;
export const TRIGGER_FIELDS: TriggerField[] = ["queue", "base", "head", "metadata"];

const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((line, i) => ({ line: line.trim(), number: i + 1 }))
    .filter(({ line }) => line.length > 0);

const changesText = z.string().transform((text) => lines(text).map(({ line }) => ({ uris: line.split(/\s+/) })));

const metadataText = z.string().transform((text, ctx) => {
  const metadata: Record<string, string> = {};
  for (const { line, number } of lines(text)) {
    const eq = line.indexOf("=");
    if (eq < 0) {
      ctx.addIssue({ code: "custom", message: `Line ${number}: ${quoted(line)} is not key=value.` });
      continue;
    }
    const key = line.slice(0, eq).trim();
    if (Object.hasOwn(metadata, key)) {
      ctx.addIssue({ code: "custom", message: `Line ${number}: key ${quoted(key)} is given twice.` });
      continue;
    }
    metadata[key] = line.slice(eq + 1).trim();
  }
  return metadata;
});

/** Each text field parsed and checked with the server's schema for that field. */
export const triggerFieldsSchema = z.object({
  queue: z
    .string()
    .transform((s) => s.trim())
    .pipe(queueNameSchema),
  base: changesText.pipe(baseChangesSchema),
  head: changesText.pipe(headChangesSchema),
  metadata: metadataText.pipe(metadataSchema),
});

export type FieldErrors = Partial<Record<TriggerField, string[]>>;

export type TriggerFormResult =
  | { ok: true; request: BuildRequest }
  | { ok: false; fieldErrors: FieldErrors; formErrors: string[] };

function failure(error: z.ZodError): TriggerFormResult {
  const { fieldErrors, formErrors } = z.flattenError(error);
  return { ok: false, fieldErrors: pickFields(fieldErrors), formErrors };
}

/**
 * The form's values checked field by field, then as a whole by
 * builds.trigger's own input schema (the size of the whole request): the
 * request to send, or the messages by field and for the form.
 */
export function checkTriggerForm(values: TriggerFormValues): TriggerFormResult {
  const fields = triggerFieldsSchema.safeParse(values);
  if (!fields.success) return failure(fields.error);
  const request = buildRequestSchema.safeParse(fields.data);
  return request.success ? { ok: true, request: request.data } : failure(request.error);
}

/** Only the form's own fields (server answers may name others). */
export function pickFields(errors: Record<string, string[] | undefined>): FieldErrors {
  const out: FieldErrors = {};
  for (const f of TRIGGER_FIELDS) if (errors[f]?.length) out[f] = errors[f];
  return out;
}
