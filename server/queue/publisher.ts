import type { QueueDb, TxExecutor } from "./db";
import { invalid, QueueError } from "./errors";
import { appendStatements, type LogRow } from "./log";
import { checkText, checkTopic, ID_MAX, PARTITION_KEY_MAX } from "./names";
import { PublishBatcher } from "./publish-batcher";
import type { Message, Publisher, PublishOptions } from "./types";

/** Messages per publish call. */
export const MAX_BATCH = 1000;
/** Payload bytes per publish call (stays well under max_allowed_packet). */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** Longest publishAfter delay: 365 days, ms. */
export const MAX_DELAY_MS = 365 * 24 * 3600_000;
const METADATA_MAX_BYTES = 64 * 1024;

export function toPayloadBuffer(payload: unknown, maxBytes: number, where: string): Buffer {
  let buf: Buffer;
  if (typeof payload === "string") buf = Buffer.from(payload, "utf8");
  else if (payload instanceof Uint8Array) buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  else throw invalid(`${where}.payload must be a string or a Uint8Array`);
  if (buf.byteLength > maxBytes) throw invalid(`${where}.payload is ${buf.byteLength} bytes; the limit is ${maxBytes}`);
  return buf;
}

function checkMetadata(meta: unknown, where: string): Record<string, string> | undefined {
  if (meta === undefined || meta === null) return undefined;
  if (typeof meta !== "object" || Array.isArray(meta)) throw invalid(`${where}.metadata must be an object of strings`);
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== "string") throw invalid(`${where}.metadata["${k}"] must be a string`);
  }
  const size = Buffer.byteLength(JSON.stringify(meta));
  if (size > METADATA_MAX_BYTES)
    throw invalid(`${where}.metadata is ${size} bytes as JSON; the limit is ${METADATA_MAX_BYTES}`);
  return meta as Record<string, string>;
}

function toRow(topic: string, m: unknown, index: number, maxPayloadBytes: number, delayMs: number): LogRow {
  const where = `messages[${index}]`;
  if (typeof m !== "object" || m === null) throw invalid(`${where} must be an object`);
  const msg = m as Partial<Message>;
  return {
    topic,
    partitionKey: checkText(msg.partitionKey, `${where}.partitionKey`, PARTITION_KEY_MAX),
    messageId: checkText(msg.id, `${where}.id`, ID_MAX),
    origin: "",
    payload: toPayloadBuffer(msg.payload, maxPayloadBytes, where),
    metadata: checkMetadata(msg.metadata, where),
    delayMs,
  };
}

export interface PublisherHooks {
  isClosed(): boolean;
  /** After a commit: `visibleNow` false for publishAfter. */
  published(topic: string, count: number, visibleNow: boolean): void;
}

function checkTx(opts: PublishOptions | undefined): TxExecutor | undefined {
  if (opts === undefined || opts === null) return undefined;
  if (typeof opts !== "object") throw invalid("publish options must be an object");
  const tx = opts.tx;
  if (tx === undefined) return undefined;
  if (typeof tx !== "object" || tx === null || typeof (tx as TxExecutor).commitWith !== "function") {
    throw invalid("tx must be the transaction handed to queue.transaction's callback");
  }
  return tx as TxExecutor;
}

export function createPublisher(db: QueueDb, maxPayloadBytes: number, hooks: PublisherHooks): Publisher {
  const batcher = new PublishBatcher(db, MAX_BATCH, MAX_BATCH_BYTES);
  async function append(topic: string, messages: unknown[], delayMs: number, opts: PublishOptions | undefined) {
    if (hooks.isClosed()) throw new QueueError("CLOSED", "the queue is closed");
    checkTopic(topic);
    const tx = checkTx(opts);
    if (messages.length === 0) return;
    if (messages.length > MAX_BATCH)
      throw invalid(`a publish holds at most ${MAX_BATCH} messages; got ${messages.length}`);
    const rows = messages.map((m, i) => toRow(topic, m, i, maxPayloadBytes, delayMs));
    const total = rows.reduce((n, r) => n + r.payload.byteLength, 0);
    if (total > MAX_BATCH_BYTES)
      throw invalid(`a publish holds at most ${MAX_BATCH_BYTES} payload bytes; got ${total}`);
    const published = () => hooks.published(topic, rows.length, delayMs === 0);
    if (tx) {
      await tx.script(await appendStatements(tx, rows));
      tx.afterCommit(published);
      return;
    }
    await batcher.append(rows, total);
    published();
  }
  return {
    publish(topic, messages, opts) {
      return append(topic, Array.isArray(messages) ? messages : [messages], 0, opts);
    },
    async publishAfter(topic, messages, delayMs, opts) {
      if (typeof delayMs !== "number" || !Number.isFinite(delayMs)) {
        throw invalid("delayMs must be a finite number of milliseconds");
      }
      if (delayMs > MAX_DELAY_MS) throw invalid(`delayMs ${delayMs} is over the limit of ${MAX_DELAY_MS} (365 days)`);
      return append(topic, Array.isArray(messages) ? messages : [messages], Math.max(0, delayMs), opts);
    },
  };
}
