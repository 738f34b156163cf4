// How the console shows a payload: pretty JSON when it parses, UTF-8 text
// when it decodes cleanly, hex otherwise. Decoded on the server so the
// browser never guesses at bytes; the raw bytes travel as base64 (Buffer is
// not a superjson type).

export type PayloadKind = "json" | "text" | "hex" | "empty";

export interface PayloadView {
  kind: PayloadKind;
  /** What to show; cut at VIEW_LIMIT characters. */
  text: string;
  truncated: boolean;
  bytes: number;
  base64: string;
}

/** Enough for any payload an operator reads; a 1 MiB hex dump helps nobody. */
export const VIEW_LIMIT = 256 * 1024;
const HEX_BYTES = 4096;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function cut(text: string): { text: string; truncated: boolean } {
  return text.length > VIEW_LIMIT ? { text: text.slice(0, VIEW_LIMIT), truncated: true } : { text, truncated: false };
}

/** Hex dump: offset, 16 bytes in hex, then the printable ASCII. */
export function hexDump(bytes: Uint8Array, max = HEX_BYTES): string {
  const lines: string[] = [];
  const end = Math.min(bytes.length, max);
  for (let off = 0; off < end; off += 16) {
    const row = bytes.subarray(off, Math.min(off + 16, end));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${off.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join("\n");
}

export function viewPayload(payload: Uint8Array): PayloadView {
  const bytes = payload.length;
  const base64 = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("base64");
  if (bytes === 0) return { kind: "empty", text: "", truncated: false, bytes, base64 };
  let text: string | undefined;
  try {
    text = utf8.decode(payload);
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    return { kind: "hex", text: hexDump(payload), truncated: bytes > HEX_BYTES, bytes, base64 };
  }
  try {
    const pretty = JSON.stringify(JSON.parse(text), null, 2);
    return { kind: "json", ...cut(pretty), bytes, base64 };
  } catch {
    return { kind: "text", ...cut(text), bytes, base64 };
  }
}
