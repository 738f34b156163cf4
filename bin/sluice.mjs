#!/usr/bin/env node
// `npx sluice …`: runs cli/main.ts through tsx's loader in a child node, so
// the TypeScript sources run as they are, from any working directory.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const main = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
// tsx is resolved from this package, not from the caller's folder.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
// The sources import each other through tsconfig's @/ alias, which tsx reads from the project's
// tsconfig.json: named here, as tsx would otherwise look in the caller's folder.
const tsconfig = fileURLToPath(new URL("../tsconfig.json", import.meta.url));
const child = spawn(process.execPath, ["--import", tsx, main, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
});
// Ctrl-C reaches the child through the terminal's process group (it cancels what it runs); SIGTERM is passed on.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("exit", (code, signal) => {
  process.exitCode = code ?? (signal ? 128 + 2 : 1);
});
