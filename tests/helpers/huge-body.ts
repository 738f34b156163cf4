// A request body far larger than any route accepts, produced only as it is
// read: a test can tell how much of it a route pulled before refusing it.

/** A body of `total` bytes sent in 64 KiB chunks as they are pulled; `pulled()` says how much was read. */
export function hugeBody(total: number, fill = "a") {
  const chunk = new TextEncoder().encode(fill.repeat(64 * 1024));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) {
        controller.close();
        return;
      }
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { stream, pulled: () => sent };
}
