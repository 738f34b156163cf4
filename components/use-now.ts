"use client";
import { useEffect, useState } from "react";

/** The current time, ticking every `everyMs`: relative times keep reading right between refetches. */
export function useNow(everyMs = 5_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
