// A runner that does no work: every build succeeds at once. The local default
// and a best-case baseline. Ids are random (unique across restarts and
// concurrent use) unless an idempotency key names the build.
import { createHash, randomUUID } from "node:crypto";
import { type BuildID, type BuildRunner, IDEMPOTENCY_KEY } from "./types";

const PREFIX = "noop-";

export class NoopRunner implements BuildRunner {
  readonly kind = "noop";

  async trigger(
    _queue: string,
    _base: unknown,
    _head: unknown,
    metadata: Record<string, string> = {},
  ): Promise<BuildID> {
    const key = metadata[IDEMPOTENCY_KEY];
    const suffix = key ? createHash("sha256").update(key).digest("hex").slice(0, 32) : randomUUID();
    return { id: `${PREFIX}${suffix}` };
  }

  async status(id: BuildID) {
    if (!id.id.startsWith(PREFIX)) throw new Error(`unknown build ${id.id}: not a noop build id`);
    return { status: "succeeded" as const, metadata: {} };
  }

  async cancel(_id: BuildID): Promise<void> {}
}
