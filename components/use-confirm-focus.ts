"use client";
import { useEffect, useRef } from "react";

/**
 * Keyboard focus for an inline confirm step: when it opens, onto its safe
 * choice (so Enter or Space does not destroy anything); when it closes
 * without acting, back onto the button that opened it (the trigger is
 * rendered again, so a ref to it, not the element that was focused, is what
 * finds it).
 */
export function useConfirmFocus(open: boolean) {
  const safeRef = useRef<HTMLButtonElement>(null);
  const openerRef = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);
  useEffect(() => {
    if (open) {
      wasOpen.current = true;
      safeRef.current?.focus();
    } else if (wasOpen.current) {
      wasOpen.current = false;
      openerRef.current?.focus();
    }
  }, [open]);
  return { safeRef, openerRef };
}
