import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeReports } from "../../simulator/replay/replay-run.ts";
import { recordedRun } from "./run-fixture.ts";

const CHROMIUM = "/usr/bin/chromium";

// Debian's chromium package; CI installs it with `apt-get install -y chromium`.
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("HTML report in Chromium", () => {
  const folder = mkdtempSync(path.join(tmpdir(), "warmstate-html-"));
  let browser: BrowserContext;

  beforeAll(async () => {
    // A fresh profile folder per run (Playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(path.join(folder, "profile"), {
      executablePath: CHROMIUM,
      viewport: { width: 1280, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it("renders charts with data points and no console errors", async () => {
    const { reportHtmlPath } = writeReports(recordedRun(), folder);
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("request", (request) => requests.push(request.url()));

    await page.goto(pathToFileURL(reportHtmlPath).href);

    expect(await page.title()).toBe("Warmstate replay: recorded");
    expect(await page.locator("svg.chart").count()).toBeGreaterThanOrEqual(9);
    expect(await page.locator("#timeline [data-point]").count()).toBeGreaterThan(0);
    expect(
      await page.locator('[data-environment="env-analyze-1"] [data-point]').count(),
    ).toBeGreaterThanOrEqual(30);
    expect(await page.locator('[data-environment="env-analyze-1"] .limit').count()).toBe(3);
    expect(await page.locator("#failures tr").count()).toBe(5);
    const box = await page.locator("svg.chart").first().boundingBox();
    expect(box?.width).toBeGreaterThan(100);
    expect(errors).toEqual([]);
    expect(requests.filter((url) => !url.startsWith("file:"))).toEqual([]);

    await page.screenshot({ path: path.join(folder, "report.png"), fullPage: true });
    expect(existsSync(path.join(folder, "report.png"))).toBe(true);
    await page.close();
  });
});
