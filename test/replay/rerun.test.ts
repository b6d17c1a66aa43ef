import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ReplayResult, runReplay } from "../../simulator/replay/replay-run.ts";
import { parseScenario } from "../../simulator/replay/scenario-loader.ts";
import type { RunReport } from "../../simulator/report/build-report.ts";
import { renderHtmlReport } from "../../simulator/report/html-report.ts";
import { renderTerminalSummary } from "../../simulator/report/terminal-summary.ts";

const REPO = path.resolve(import.meta.dirname, "..", "..");
const parent = path.join(REPO, ".warmstate", "test-runs");
mkdirSync(parent, { recursive: true });
const folder = mkdtempSync(path.join(parent, "rerun-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

// One 1-page scan at 600 dpi arrives every minute. pdf-split leaves about
// 40 MB of it in /tmp per invocation, so its one environment (reserved
// concurrency 1) fills its 512 MB within a dozen documents. Every later
// execution fails with ENOSPC. Half an hour after the last arrival,
// keep-alive has reclaimed that environment, so both redrives land on a new
// one and pass.
const scenario = parseScenario({
  name: "rerun",
  seed: 11,
  duration: "14m",
  arrivals: { model: "constant", every: "1m", documents: 1 },
  documents: {
    corpusShare: 0,
    pages: [{ range: [1, 1], weight: 1 }],
    scannedShare: 1,
    scanDpi: 600,
    distinct: 1,
  },
  drive: {
    target: "state-machine",
    stateMachine: "pdf-batch-strict",
    redrive: { after: "30m", every: "1m", max: 2 },
  },
  functions: {
    "pdf-split": { reservedConcurrency: 1, keepAlive: "10m" },
    "pdf-analyze": { keepAlive: "10m", environment: { RENDER_DPI: "20" } },
    "pdf-summarize": { keepAlive: "10m" },
  },
  toggles: { CLEAN_TMP: false, CLOSE_FDS: true },
});

describe("redrive after a failed execution", () => {
  let result: ReplayResult;
  let report: RunReport;

  beforeAll(async () => {
    result = await runReplay({
      scenario,
      backend: "process",
      speed: "max",
      outDir: path.join(folder, "run"),
      cacheDir: path.join(folder, "cache"),
    });
    report = result.report;
  }, 600_000);

  it("fails executions with ENOSPC", () => {
    const enospc = report.failures.find((failure) => failure.kind === "ENOSPC");

    expect(report.executions.started).toBe(14);
    expect(report.executions.failed).toBeGreaterThanOrEqual(2);
    expect(report.executions.succeeded + report.executions.failed).toBe(14);
    expect(enospc?.executions).toBe(report.executions.failed);
    expect(enospc?.first.functionName).toBe("pdf-split");
  });

  it("redrives two of them and both pass", () => {
    expect(report.executions.redriven).toBe(2);
    expect(report.executions.succeededAfterRedrive).toBe(2);
    expect(report.executions.failedAfterRedrive).toBe(0);
    expect(report.reruns).toHaveLength(2);
    for (const rerun of report.reruns) {
      expect(rerun).toMatchObject({
        method: "redrive",
        status: "SUCCEEDED",
        passed: true,
        exact: true,
      });
    }
  });

  it("places each first attempt on the full environment", () => {
    const splitEnvironments = report.environmentSeries.filter(
      (environment) => environment.functionName === "pdf-split",
    );
    const full = splitEnvironments[0];

    for (const rerun of report.reruns) {
      expect(rerun.failure).toMatchObject({
        kind: "ENOSPC",
        functionName: "pdf-split",
        environmentId: full.environmentId,
      });
      expect(rerun.failure.invocationNumber).toBeGreaterThan(5);
    }
  });

  it("lands the re-runs on a new pdf-split environment", () => {
    const [first, second] = report.reruns;

    expect(first.landings[0]).toMatchObject({
      functionName: "pdf-split",
      invocationNumber: 1,
      coldStart: true,
      fresh: true,
      sameEnvironment: false,
    });
    expect(second.landings[0]).toMatchObject({
      functionName: "pdf-split",
      environmentId: first.landings[0].environmentId,
      invocationNumber: 2,
      coldStart: false,
      fresh: true,
    });
    expect(report.environments.reclaimed).toBeGreaterThanOrEqual(1);
  });

  it("writes the re-runs into report.json", () => {
    const written = JSON.parse(readFileSync(result.reportJsonPath, "utf8"));

    expect(written.executions).toMatchObject({
      started: 14,
      redriven: 2,
      succeededAfterRedrive: 2,
    });
    expect(written.reruns).toHaveLength(2);
    expect(written.reruns[0].landings[0].environmentId).toBe(
      report.reruns[0].landings[0].environmentId,
    );
  });

  it("shows every environment's final state", () => {
    for (const environment of report.environmentSeries) {
      expect(
        environment.status,
        `${environment.functionName} ${environment.environmentId} ended by ${environment.endReason}`,
      ).toBe("gone");
    }
    expect(report.environments.live).toBe(0);
    expect(report.environments.shutDown + report.environments.reclaimed).toBe(
      report.environments.started,
    );
  });

  it("shows failure and re-run side by side", () => {
    const text = renderTerminalSummary(report);
    const html = renderHtmlReport(report, result.run.invocations);
    const shortId = report.reruns[0].failure.environmentId?.slice(0, 8);

    expect(text).toContain(
      `ENOSPC in pdf-split on env ${shortId} at its invocation ${report.reruns[0].failure.invocationNumber}`,
    );
    expect(text).toMatch(/pdf-split on fresh env \w{8}, invocation 1 \(cold start\)\s+passed/);
    expect(html).toContain('<table id="reruns">');
    expect(html).toContain("a fresh environment");
  });
});

describe("redrive at once", () => {
  let report: RunReport;

  beforeAll(async () => {
    const atOnce = {
      ...scenario,
      name: "rerun-at-once",
      duration: 13 * 60_000,
      drive: { ...scenario.drive, redrive: true },
    };
    ({ report } = await runReplay({
      scenario: atOnce,
      backend: "process",
      speed: "max",
      outDir: path.join(folder, "at-once"),
      cacheDir: path.join(folder, "cache"),
    }));
  }, 600_000);

  it("lands on the full environment again", () => {
    expect(report.reruns.length).toBeGreaterThanOrEqual(1);
    for (const rerun of report.reruns) {
      expect(rerun.failure.kind).toBe("ENOSPC");
      expect(rerun.landings[0]).toMatchObject({
        functionName: "pdf-split",
        environmentId: rerun.failure.environmentId,
        sameEnvironment: true,
        fresh: false,
      });
      expect(rerun.passed).toBe(false);
    }
  });

  it("counts the redrives that failed again", () => {
    expect(report.executions.redriven).toBe(report.executions.failed);
    expect(report.executions.failedAfterRedrive).toBe(report.executions.redriven);
  });
});
