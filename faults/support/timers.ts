// Counting this process's timers. process.getActiveResourcesInfo() sees only
// timers that keep the event loop alive; the queue unrefs its renewal
// interval, so an async hook also follows every Timeout made while it watches.
import { createHook } from "node:async_hooks";

/** Timers keeping the event loop alive now. */
export function refTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

export interface TimerWatch {
  /** Timeouts and intervals made since the watch began that are neither cleared nor done. */
  live(): number;
  stop(): void;
}

export function watchTimers(): TimerWatch {
  const live = new Set<number>();
  const hook = createHook({
    init(id, type) {
      if (type === "Timeout") live.add(id);
    },
    destroy(id) {
      live.delete(id);
    },
  });
  hook.enable();
  return {
    live: () => live.size,
    stop: () => hook.disable(),
  };
}
