import type { PayloadView } from "@/server/trpc/payload-view";
import { formatBytes } from "./format";

const KIND_LABELS: Record<PayloadView["kind"], string> = {
  json: "JSON",
  text: "UTF-8 text",
  hex: "binary (hex)",
  empty: "empty",
};

/** A payload as the server decoded it, with its size and a download of the raw bytes. */
export function PayloadBlock({ payload, name }: { payload: PayloadView; name: string }) {
  return (
    <section aria-label="Payload">
      <div className="payload-head">
        <h2 style={{ margin: 0 }}>Payload</h2>
        <span className="muted small">
          {KIND_LABELS[payload.kind]} · {formatBytes(payload.bytes)}
          {payload.truncated ? " · shortened for display" : ""}
        </span>
        <a className="small" href={`data:application/octet-stream;base64,${payload.base64}`} download={`${name}.bin`}>
          Download raw
        </a>
      </div>
      {payload.kind === "empty" ? (
        <p className="muted">(no bytes)</p>
      ) : (
        <pre className="payload" data-testid="payload" data-kind={payload.kind}>
          {payload.text}
        </pre>
      )}
    </section>
  );
}
