// Structured logs through pino: one JSON object per line on stderr, fields
// not prose, so topic, group, partition and build id can be searched. Payloads
// and secrets are never logged; the field names that could carry one are
// redacted all the same, in case a caller slips.
import pino from "pino";

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Fields whose values never reach a log line. */
export const REDACTED_FIELDS = ["password", "token", "payload", "cookie", "authorization", "secret"];

function wrap(p: pino.Logger): Logger {
  return {
    info: (m, f) => p.info(f ?? {}, m),
    warn: (m, f) => p.warn(f ?? {}, m),
    error: (m, f) => p.error(f ?? {}, m),
    child: (f) => wrap(p.child(f)),
  };
}

/**
 * A logger with `base` on every line. `write` receives each line (tests
 * capture them); by default lines go to stderr, synchronously, so none is
 * lost when the process exits.
 */
export function createLogger(base: LogFields = {}, write?: (line: string) => void): Logger {
  const destination = write ? { write } : pino.destination({ fd: 2, sync: true });
  return wrap(
    pino(
      {
        base,
        messageKey: "msg",
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        redact: { paths: REDACTED_FIELDS, censor: "[redacted]" },
      },
      destination,
    ),
  );
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
