"use client";
// The colours a canvas chart draws with: the console's CSS variables are
// light-dark() pairs, which a canvas cannot use, so each is resolved to the
// colour it has right now, and the charts redraw when the scheme changes
// (the system's, or the operator's pick on <html data-theme>).
import { useSyncExternalStore } from "react";

const DARK = "(prefers-color-scheme: dark)";

function subscribe(onChange: () => void) {
  const media = window.matchMedia(DARK);
  media.addEventListener("change", onChange);
  const observer = new MutationObserver(onChange);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  return () => {
    media.removeEventListener("change", onChange);
    observer.disconnect();
  };
}

/** Changes whenever the colours the page is drawn in may have changed. */
export function useSchemeKey(): string {
  return useSyncExternalStore(
    subscribe,
    () => `${document.documentElement.dataset.theme ?? "system"}:${window.matchMedia(DARK).matches}`,
    () => "server",
  );
}

/** What `var(--name)` is inside `el` now, as a colour a canvas takes. */
export function resolveColor(el: Element, variable: string): string {
  const probe = document.createElement("span");
  probe.style.color = `var(${variable})`;
  el.appendChild(probe);
  const color = getComputedStyle(probe).color;
  probe.remove();
  return color;
}
