"use client";
// Rows picked with checkboxes, by exact address (topic, partition, seq):
// bulk actions act on exactly these, never on "everything with this id".
import { useCallback, useMemo, useState } from "react";

export interface Address {
  topic: string;
  partitionKey: string;
  seq: number;
}

export const addressKey = (a: Address) => JSON.stringify([a.topic, a.partitionKey, a.seq]);

export function useSelection() {
  const [picked, setPicked] = useState<Map<string, Address>>(() => new Map());
  const toggle = useCallback((a: Address, on: boolean) => {
    setPicked((prev) => {
      const next = new Map(prev);
      if (on) next.set(addressKey(a), a);
      else next.delete(addressKey(a));
      return next;
    });
  }, []);
  const setAll = useCallback((rows: Address[], on: boolean) => {
    setPicked((prev) => {
      const next = new Map(prev);
      for (const a of rows) {
        if (on) next.set(addressKey(a), { topic: a.topic, partitionKey: a.partitionKey, seq: a.seq });
        else next.delete(addressKey(a));
      }
      return next;
    });
  }, []);
  const clear = useCallback(() => setPicked(new Map()), []);
  /** Drops picks that are no longer on the page (delivered, requeued, purged). */
  const keepOnly = useCallback((rows: Address[]) => {
    const present = new Set(rows.map(addressKey));
    setPicked((prev) => {
      if ([...prev.keys()].every((k) => present.has(k))) return prev;
      return new Map([...prev].filter(([k]) => present.has(k)));
    });
  }, []);
  return useMemo(
    () => ({
      size: picked.size,
      has: (a: Address) => picked.has(addressKey(a)),
      list: () => [...picked.values()],
      toggle,
      setAll,
      clear,
      keepOnly,
    }),
    [picked, toggle, setAll, clear, keepOnly],
  );
}
