// Screenshots of a flow's current page at 1280 px and 390 px, light and dark
// (the system's scheme, emulated), kept as test artifacts; the viewport and
// scheme are put back afterwards.
import type { Page, TestInfo } from "@playwright/test";

export const WIDTHS = [1280, 390] as const;
export const SCHEMES = ["light", "dark"] as const;

export async function shots(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const size = page.viewportSize() ?? { width: 1280, height: 720 };
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 844 });
    for (const colorScheme of SCHEMES) {
      await page.emulateMedia({ colorScheme });
      const file = `${name}-${width}-${colorScheme}`;
      const body = await page.screenshot({ path: testInfo.outputPath(`${file}.png`), fullPage: true });
      await testInfo.attach(file, { body, contentType: "image/png" });
    }
  }
  await page.setViewportSize(size);
  await page.emulateMedia({ colorScheme: "light" });
}
