// The Drizzle client over a mysql2 pool. Server code gets one from
// server/db.ts (getDb); pages and components never import db/.
import { drizzle, type MySql2Database } from "drizzle-orm/mysql2";
import type { Pool } from "mysql2/promise";
import * as schema from "./schema";

export type Db = MySql2Database<typeof schema>;

export function createDb(pool: Pool): Db {
  return drizzle(pool, { schema, mode: "default" });
}
