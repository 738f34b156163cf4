// Where a new password comes from: never the command line (other users see
// it in `ps`), but stdin (--password-stdin), a generated one (--generate,
// printed once), or a hidden prompt on a terminal.
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { UsageError } from "./args";

export function generatePassword(): string {
  return randomBytes(18).toString("base64url");
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One line: a trailing newline from `echo` is not part of the password.
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

function promptHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput(s: string): void; output: NodeJS.WriteStream };
    let asked = false;
    out._writeToOutput = (s: string) => {
      // Show the question once, then nothing of what is typed.
      if (!asked) {
        process.stderr.write(s);
        asked = true;
      }
    };
    rl.question(question, (answer) => {
      process.stderr.write("\n");
      rl.close();
      resolve(answer);
    });
  });
}

/** The new password, and whether it was generated (then the caller prints it). */
export async function newPassword(
  values: Record<string, unknown>,
  command: string,
): Promise<{ password: string; generated: boolean }> {
  if (values["password-stdin"] === true && values.generate === true)
    throw new UsageError(`${command}: pass --password-stdin or --generate, not both`);
  if (values.generate === true) return { password: generatePassword(), generated: true };
  if (values["password-stdin"] === true) return { password: await readStdin(), generated: false };
  if (!process.stdin.isTTY)
    throw new UsageError(`${command}: stdin is not a terminal; pass --password-stdin or --generate`);
  const first = await promptHidden("New password: ");
  const again = await promptHidden("Again: ");
  if (first !== again) throw new UsageError(`${command}: the two passwords differ`);
  return { password: first, generated: false };
}

export const PASSWORD_OPTIONS = {
  "password-stdin": { type: "boolean" },
  generate: { type: "boolean" },
} as const;

export const PASSWORD_DETAILS = [
  "  --password-stdin  read the password from stdin (one line)",
  "  --generate        make a random password and print it once",
  "  (neither: asked for twice on the terminal, not echoed)",
];
