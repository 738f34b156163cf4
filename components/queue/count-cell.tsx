import type { Count } from "@/server/queue";
import { formatCount } from "./format";

/** A bounded count; capped ones say so on hover. */
export function CountText({ count }: { count: Count }) {
  return (
    <span title={count.capped ? "At least this many: an exact count would scan the whole topic" : undefined}>
      {formatCount(count)}
    </span>
  );
}
