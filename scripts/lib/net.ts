import net from "node:net";
import mysql from "mysql2/promise";

/** True when nothing listens on host:port (we could bind it). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS says is free on host right now. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export type Probe = { ok: true } | { ok: false; error: unknown };

/** Connects to the server of `url` (without selecting its database) and runs SELECT 1. */
export async function probeDatabaseServer(url: string, timeoutMs = 3_000): Promise<Probe> {
  const server = new URL(url);
  server.pathname = "/";
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection({ uri: server.toString(), connectTimeout: timeoutMs });
    await conn.query("SELECT 1");
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  } finally {
    await conn?.end().catch(() => {});
  }
}
