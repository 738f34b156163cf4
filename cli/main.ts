// `sluice`: the operator's command line. It calls the same library functions
// as the console (server/queue's inspect/admin, server/pipeline's actions),
// with the database from DATABASE_URL. Exit codes: 0 done, 1 the action
// failed or was declined, 2 the command line was wrong.
import { describeDatabaseError } from "@/server/db-errors";
import { getEnv } from "@/server/env";
import { errorOutcome } from "@/server/error-outcomes";
import { type Command, helpText, parseCommandArgs, UsageError } from "./args";
import { buildCommands } from "./builds";
import { consumptionCommands } from "./consumption";
import { createCtx } from "./context";
import { dlqCommands } from "./dlq";
import { messageCommands } from "./messages";
import { offsetCommands } from "./offsets";
import { topicCommands } from "./topics";
import { userCommands } from "./users";

const COMMANDS: Command[] = [
  ...topicCommands,
  ...messageCommands,
  ...offsetCommands,
  ...consumptionCommands,
  ...dlqCommands,
  ...buildCommands,
  ...userCommands,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "usage: sluice <command> [arguments] [--json] [--yes]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "sluice <command> --help shows a command's arguments. The database is DATABASE_URL.",
  ].join("\n");
}

/** The database's errors are the operator's to fix: a sentence naming the database says what to do. */
function databaseMessage(err: unknown): string | undefined {
  const e = err as { errno?: unknown; code?: unknown };
  if (typeof e?.errno === "number" || (typeof e?.code === "string" && /^(E[A-Z]+|ER_|PROTOCOL_)/.test(e.code))) {
    let url = "the database";
    try {
      url = getEnv().DATABASE_URL;
    } catch {}
    return describeDatabaseError(err, url);
  }
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    const cmd = COMMANDS.find((c) => c.name === rest[0]);
    process.stdout.write(`${cmd ? helpText(cmd) : overview()}\n`);
    return 0;
  }
  const ctx = createCtx();
  try {
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) throw new UsageError(`unknown command "${name}"; run sluice help for the list`);
    const args = parseCommandArgs(cmd, rest);
    if (args === null) {
      process.stdout.write(`${helpText(cmd)}\n`);
      return 0;
    }
    await cmd.run(ctx, args);
    return 0;
  } catch (err) {
    // A coded error (the libraries', a declined confirmation, a wrong command line) is the
    // operator's to fix: its message is the whole story.
    const coded = errorOutcome(err);
    if (coded) {
      process.stderr.write(`sluice: ${coded.error.message}\n`);
      return coded.outcome.exit;
    }
    const message = databaseMessage(err);
    if (message !== undefined) {
      process.stderr.write(`sluice: ${message}\n`);
      return 1;
    }
    // A bug, not a user error: the stack helps whoever reports it.
    process.stderr.write(
      `sluice: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  } finally {
    await ctx.close().catch(() => {});
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`sluice: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
