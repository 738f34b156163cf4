// A TCP proxy in front of the test database that rewrites one statement the
// client sends, the first `times` times it passes: a way to make a real
// server reject a real statement (mysql2 sends queries as plain text here).
import net from "node:net";

export interface RewriteProxy {
  /** The database URL `url` with its host and port pointing at the proxy. */
  url: string;
  /** How often the statement was rewritten so far. */
  rewrites(): number;
  close(): Promise<void>;
}

export async function rewriteProxy(url: string, from: string, to: string, times = 1): Promise<RewriteProxy> {
  if (Buffer.byteLength(from) !== Buffer.byteLength(to)) throw new Error("a rewrite must keep the packet length");
  const target = new URL(url);
  const needle = Buffer.from(from);
  const replacement = Buffer.from(to);
  let done = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 3306), target.hostname);
    sockets.add(client).add(upstream);
    client.on("data", (chunk: Buffer) => {
      const at = done < times ? chunk.indexOf(needle) : -1;
      if (at >= 0) {
        done++;
        replacement.copy(chunk, at);
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxied = new URL(url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String((server.address() as net.AddressInfo).port);
  return {
    url: proxied.toString(),
    rewrites: () => done,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
