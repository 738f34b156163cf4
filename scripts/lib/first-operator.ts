// Secure by default: a console with no users is not served to the network,
// and on this machine alone `npm start` makes the first operator itself, with
// a random password shown once (like Grafana's or Jenkins's first admin).

import { generatePassword } from "@/cli/password-input";
import { createDb, openUtcPool } from "@/db/client";
import { addUser, countUsers } from "@/server/auth/users";

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export type FirstOperator =
  | { kind: "exists" }
  | { kind: "created"; username: string; password: string }
  | { kind: "refused"; message: string };

export async function ensureFirstOperator(url: string, host: string): Promise<FirstOperator> {
  const pool = openUtcPool(url, { connectionLimit: 1 });
  try {
    const db = createDb(pool);
    if ((await countUsers(db)) > 0) return { kind: "exists" };
    if (!LOOPBACK.has(host)) {
      return {
        kind: "refused",
        message: `No console user exists yet, and HOST=${host} would serve Sluice to the network. Create the first operator with \`npx sluice add-user <name> --role operator\` (DATABASE_URL set as for npm start), or start with HOST=127.0.0.1 once to get one made for you.`,
      };
    }
    const username = "admin";
    const password = generatePassword();
    await addUser(
      db,
      { name: "system:npm-start", role: "operator", address: "local" },
      {
        username,
        password,
        role: "operator",
      },
    );
    return { kind: "created", username, password };
  } finally {
    await pool.end();
  }
}
