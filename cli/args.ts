// The CLI's argument handling: each command declares its positionals and
// options, node's util.parseArgs does the parsing, and every problem becomes a
// UsageError (one line on stderr, exit 2) instead of a stack trace.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { CodedError } from "@/server/coded-error";
import type { Ctx } from "./context";

/** A mistake in how the command was called: exit 2. */
export class UsageError extends CodedError<"USAGE"> {
  constructor(message: string) {
    super("USAGE", message);
    this.name = "UsageError";
  }
}

/** The operator said no, or could not be asked: exit 1, nothing done. */
export class Declined extends CodedError<"DECLINED"> {
  constructor(message: string) {
    super("DECLINED", message);
    this.name = "Declined";
  }
}

type OptionSpec = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Args {
  /** Positionals by the names the command declared. */
  pos: Record<string, string | undefined>;
  values: Values;
  json: boolean;
  yes: boolean;
}

export interface Command {
  name: string;
  /** One line for `sluice help`. */
  summary: string;
  /** e.g. "<topic> [--group g]"; shown after `sluice <name>`. */
  usage: string;
  /** Further lines of `sluice <name> --help`. */
  details?: string[];
  required?: string[];
  optional?: string[];
  options?: OptionSpec;
  run(ctx: Ctx, args: Args): Promise<void>;
}

const COMMON: OptionSpec = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** Parses argv for `cmd`; returns null when --help was asked for. */
export function parseCommandArgs(cmd: Command, argv: string[]): Args | null {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...COMMON, ...cmd.options },
      allowPositionals: true,
      strict: true,
    }) as { values: Values; positionals: string[] };
  } catch (err) {
    // parseArgs's messages name the option; drop its advice about "--" for brevity.
    const message = err instanceof Error ? err.message.split("\n")[0]?.replace(/\. To specify .*$/, "") : String(err);
    throw new UsageError(`${cmd.name}: ${message}`);
  }
  if (parsed.values.help) return null;
  const required = cmd.required ?? [];
  const optional = cmd.optional ?? [];
  const missing = required.slice(parsed.positionals.length);
  if (missing.length > 0)
    throw new UsageError(`${cmd.name}: missing <${missing[0]}> (usage: sluice ${cmd.name} ${cmd.usage})`);
  if (parsed.positionals.length > required.length + optional.length) {
    const extra = parsed.positionals[required.length + optional.length];
    throw new UsageError(`${cmd.name}: unexpected argument "${extra}" (usage: sluice ${cmd.name} ${cmd.usage})`);
  }
  const pos: Record<string, string | undefined> = {};
  [...required, ...optional].forEach((name, i) => {
    pos[name] = parsed.positionals[i];
  });
  return { pos, values: parsed.values, json: parsed.values.json === true, yes: parsed.values.yes === true };
}

export function helpText(cmd: Command): string {
  return [
    `usage: sluice ${cmd.name} ${cmd.usage}`,
    "",
    cmd.summary,
    ...(cmd.details ?? []),
    "",
    "  --json  machine-readable output",
    "  --help  this text",
  ].join("\n");
}

/** A string option's value, or undefined. */
export function str(args: Args, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === "string" ? v : undefined;
}

/** A repeatable string option's values. */
export function list(args: Args, name: string): string[] {
  const v = args.values[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** A positional the parser guaranteed to be there. */
export function req(args: Args, name: string): string {
  const v = args.pos[name];
  if (v === undefined) throw new UsageError(`missing <${name}>`);
  return v;
}

/** Parses a whole number, within bounds, or fails with a message naming it. */
export function int(
  value: string | undefined,
  what: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?[0-9]+$/.test(value)) throw new UsageError(`${what} must be a whole number (got "${value}")`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${what} must be between ${min} and ${max} (got ${value})`);
  return n;
}

/** A value from a fixed set, or a message listing the set. */
export function oneOf<T extends string>(value: string | undefined, what: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${what} must be one of ${allowed.join(", ")} (got "${value}")`);
  }
  return value as T;
}
