// The operator's colour scheme, kept per browser. "system" (nothing stored)
// follows prefers-color-scheme through CSS alone; "light" and "dark" are
// written to <html data-theme>, which the stylesheet's light-dark() pairs obey.

export type ThemeChoice = "system" | "light" | "dark";

export const THEME_KEY = "sluice-theme";

/**
 * Runs inline in <head> before the body is parsed, so a stored choice is on
 * <html> before the first paint (no flash of the other scheme). Kept tiny and
 * self-contained: it cannot import anything.
 */
export const THEME_BOOT_SCRIPT = `try{var t=localStorage.getItem(${JSON.stringify(THEME_KEY)});if(t==="light"||t==="dark")document.documentElement.dataset.theme=t}catch(e){}`;

export function readTheme(): ThemeChoice {
  try {
    const t = localStorage.getItem(THEME_KEY);
    return t === "light" || t === "dark" ? t : "system";
  } catch {
    // Storage can be disabled (privacy settings): the system's scheme it is.
    return "system";
  }
}

export function applyTheme(choice: ThemeChoice): void {
  try {
    if (choice === "system") localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, choice);
  } catch {
    // Not kept, but still applied to this page.
  }
  if (choice === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = choice;
}
