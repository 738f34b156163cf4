"use client";
// System, light or dark: the choice is kept in this browser (localStorage).
import { useSyncExternalStore } from "react";
import { applyTheme, readTheme, type ThemeChoice } from "./theme";

const CHOICES: Array<{ value: ThemeChoice; label: string }> = [
  { value: "system", label: "System" },
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
];

const listeners = new Set<() => void>();

function subscribe(listener: () => void) {
  listeners.add(listener);
  // Another tab changed it: follow, so both tabs agree.
  const onStorage = () => {
    applyTheme(readTheme());
    listener();
  };
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", onStorage);
  };
}

export function ThemeToggle() {
  // The server cannot know the stored choice: it renders "System", the browser corrects it after hydration.
  const current = useSyncExternalStore(subscribe, readTheme, () => "system" as const);
  const choose = (choice: ThemeChoice) => {
    applyTheme(choice);
    for (const l of listeners) l();
  };
  return (
    <fieldset className="segmented" aria-label="Colour scheme">
      {CHOICES.map((c) => (
        <button key={c.value} type="button" aria-pressed={current === c.value} onClick={() => choose(c.value)}>
          {c.label}
        </button>
      ))}
    </fieldset>
  );
}
