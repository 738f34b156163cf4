"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { type FormEvent, type ReactNode, useState } from "react";
// Trigger a build: checked in the browser with the server's own schemas before
// anything is sent; what the server still refuses (a queue no runner builds)
// is shown the same way, beside the field it is about when it names one.
import { OPERATORS_ONLY, useCanAct } from "@/components/auth/session-user";
import { useTRPC } from "@/components/trpc-provider";
import { BUILD_REQUEST_LIMITS } from "@/server/pipeline/build-request-schema";
import {
  checkTriggerForm,
  type FieldErrors,
  pickFields,
  TRIGGER_FIELDS,
  type TriggerField,
  type TriggerFormValues,
} from "./trigger-form-schema";

const EMPTY: TriggerFormValues = { queue: "", base: "", head: "", metadata: "" };
const L = BUILD_REQUEST_LIMITS;

export function TriggerBuildForm() {
  const canAct = useCanAct();
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const queues = useQuery(trpc.builds.queues.queryOptions());
  const [values, setValues] = useState<TriggerFormValues>(EMPTY);
  const [submitted, setSubmitted] = useState(false);
  const [clientErrors, setClientErrors] = useState<FieldErrors>({});
  const [serverErrors, setServerErrors] = useState<FieldErrors>({});
  const [formErrors, setFormErrors] = useState<string[]>([]);

  const trigger = useMutation(
    trpc.builds.trigger.mutationOptions({
      onSuccess: ({ batchId }) => {
        void queryClient.invalidateQueries({ queryKey: trpc.builds.list.pathKey() });
        router.push(`/builds/batch/${encodeURIComponent(batchId)}`);
      },
      onError: (error) => {
        const zod = error.data?.zodError;
        if (zod) {
          setServerErrors(pickFields(zod.fieldErrors));
          setFormErrors(zod.formErrors);
        } else {
          setFormErrors([error.message]);
        }
      },
    }),
  );

  function change(field: TriggerField, value: string) {
    const next = { ...values, [field]: value };
    setValues(next);
    // The server's verdict was about the old value.
    setServerErrors((e) => ({ ...e, [field]: undefined }));
    // After a first submit, errors follow the input as it is corrected.
    if (submitted) {
      const checked = checkTriggerForm(next);
      setClientErrors(checked.ok ? {} : checked.fieldErrors);
      setFormErrors(checked.ok ? [] : checked.formErrors);
    }
  }

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setSubmitted(true);
    setServerErrors({});
    const checked = checkTriggerForm(values);
    if (!checked.ok) {
      setClientErrors(checked.fieldErrors);
      setFormErrors(checked.formErrors);
      const first = TRIGGER_FIELDS.find((f) => checked.fieldErrors[f]);
      if (first) document.getElementById(fieldId(first))?.focus();
      return;
    }
    setClientErrors({});
    setFormErrors([]);
    trigger.mutate(checked.request);
  }

  const errorsOf = (f: TriggerField) => [...(clientErrors[f] ?? []), ...(serverErrors[f] ?? [])];
  const bind = (f: TriggerField): Bound => ({
    name: f,
    errors: errorsOf(f),
    value: values[f],
    onChange: (value) => change(f, value),
  });
  const configured = queues.data?.queues ?? [];
  const defaultKind = queues.data?.defaultKind;

  return (
    <form className="form panel" onSubmit={onSubmit} noValidate aria-label="Trigger a build">
      <Field
        name="queue"
        label="Queue"
        errors={errorsOf("queue")}
        hint={
          queues.data
            ? defaultKind
              ? `Configured: ${configured.map((q) => `${q.name} (${q.kind})`).join(", ") || "none"}. Any other queue uses the default ${defaultKind} runner.`
              : `Configured: ${configured.map((q) => `${q.name} (${q.kind})`).join(", ") || "none"}. No other queue can be built (no default runner).`
            : "Letters, digits and . _ : / - only."
        }
      >
        {(a11y) => (
          <>
            <input
              {...a11y}
              className="mono"
              list="trigger-queue-options"
              autoComplete="off"
              spellCheck={false}
              value={values.queue}
              onChange={(e) => change("queue", e.currentTarget.value)}
            />
            <datalist id="trigger-queue-options">
              {configured.map((q) => (
                <option key={q.name} value={q.name}>
                  {q.kind}
                </option>
              ))}
            </datalist>
          </>
        )}
      </Field>
      <LinesField
        {...bind("base")}
        label="Base changes"
        rows={3}
        hint={`Assumed good (earlier batches); may be empty. One change per line, its URIs separated by spaces, e.g. github://org/repo/pull/123/<sha>. At most ${L.changes} changes of ${L.urisPerChange} URIs.`}
      />
      <LinesField
        {...bind("head")}
        label="Head changes"
        rows={4}
        hint="What this build verifies: at least one change. One per line, like the base."
      />
      <LinesField
        {...bind("metadata")}
        label="Metadata"
        rows={3}
        hint={`Optional. key=value per line; at most ${L.metadataEntries} entries, keys up to ${L.metadataKey} characters, values up to ${L.metadataValue}.`}
      />

      {formErrors.length > 0 ? (
        <div className="note note-bad" role="alert" data-testid="form-error">
          {formErrors.map((m) => (
            <p key={m}>{m}</p>
          ))}
        </div>
      ) : null}

      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={!canAct || trigger.isPending || trigger.isSuccess}
          title={canAct ? undefined : OPERATORS_ONLY}
        >
          {trigger.isPending || trigger.isSuccess ? "Triggering…" : "Trigger build"}
        </button>
        <Link href="/builds" className="btn btn-link">
          Back to builds
        </Link>
      </div>
    </form>
  );
}

const fieldId = (name: TriggerField) => `trigger-${name}`;

interface A11yProps {
  id: string;
  name: string;
  "aria-invalid": boolean;
  "aria-describedby": string;
}

/** A labelled control with its hint and its errors, tied together for assistive technology. */
function Field({
  name,
  label,
  hint,
  errors,
  children,
}: {
  name: TriggerField;
  label: string;
  hint: string;
  errors: string[];
  children: (a11y: A11yProps) => ReactNode;
}) {
  const id = fieldId(name);
  const invalid = errors.length > 0;
  return (
    <div className={invalid ? "field field-invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        name,
        "aria-invalid": invalid,
        "aria-describedby": invalid ? `${id}-error ${id}-hint` : `${id}-hint`,
      })}
      {invalid ? (
        <div id={`${id}-error`} className="field-error" role="alert" data-testid={`${name}-error`}>
          {errors.map((m) => (
            <p key={m}>{m}</p>
          ))}
        </div>
      ) : null}
      <p id={`${id}-hint`} className="hint">
        {hint}
      </p>
    </div>
  );
}

/** A field's name with its current value, errors and change handler, as the form holds them. */
interface Bound {
  name: TriggerField;
  errors: string[];
  value: string;
  onChange: (value: string) => void;
}

/** A Field whose control is a monospace textarea taking one entry per line. */
function LinesField({
  name,
  errors,
  value,
  onChange,
  label,
  hint,
  rows,
}: Bound & { label: string; hint: string; rows: number }) {
  return (
    <Field name={name} label={label} hint={hint} errors={errors}>
      {(a11y) => (
        <textarea
          {...a11y}
          className="mono"
          rows={rows}
          spellCheck={false}
          value={value}
          onChange={(e) => onChange(e.currentTarget.value)}
        />
      )}
    </Field>
  );
}
