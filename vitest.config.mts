import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: [
      // The same "@/…" paths as tsconfig.json and Next.js.
      { find: "@", replacement: fileURLToPath(new URL("./", import.meta.url)) },
      // Tests are server code: they get the marker's server build (what Next.js resolves for a
      // server component), not the one that throws to keep the module out of the browser.
      {
        find: /^server-only$/,
        replacement: fileURLToPath(new URL("./node_modules/server-only/empty.js", import.meta.url)),
      },
    ],
  },
  test: {
    include: ["tests/**/*.test.ts"],
    environment: "node",
    // Timing-sensitive queue tests (leases, visibility) share 2 cores with MariaDB.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
