// Request bodies read with a ceiling. `await req.json()` reads whatever a
// client sends (64 MiB of chunked JSON grew the server by 130 MB) before any
// check can look at it. These stop at the ceiling: a declared length over it
// is refused without reading a byte, a chunked body once the ceiling is
// passed, and the rest of the stream is cancelled.

export type CappedBody = { ok: true; text: string } | { ok: false; response: Response };

export function tooLarge(maxBytes: number): Response {
  return Response.json(
    { error: `the request body is too large (at most ${maxBytes} bytes)` },
    { status: 413, headers: { connection: "close" } },
  );
}

/** The body as UTF-8 text, or a 413 answer when it holds more than `maxBytes`. */
export async function readCappedBody(req: Request, maxBytes: number): Promise<CappedBody> {
  const declared = req.headers.get("content-length");
  if (declared !== null && (!/^\d+$/.test(declared) || Number(declared) > maxBytes)) {
    // Not one byte read: the stream is dropped with the request.
    await req.body?.cancel().catch(() => {});
    return { ok: false, response: tooLarge(maxBytes) };
  }
  if (!req.body) return { ok: true, text: "" };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return { ok: false, response: tooLarge(maxBytes) };
    }
    chunks.push(value);
  }
  return { ok: true, text: Buffer.concat(chunks).toString("utf8") };
}

/** The body parsed as JSON (null when it is not JSON), or a 413 answer. */
export async function readCappedJson(
  req: Request,
  maxBytes: number,
): Promise<{ ok: true; json: unknown } | { ok: false; response: Response }> {
  const body = await readCappedBody(req, maxBytes);
  if (!body.ok) return body;
  try {
    return { ok: true, json: JSON.parse(body.text) };
  } catch {
    return { ok: true, json: null };
  }
}
