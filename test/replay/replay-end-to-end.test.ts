import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findLeaks } from "../../simulator/diagnostics/leak-findings.ts";
import { runReplay } from "../../simulator/replay/replay-run.ts";
import { loadScenario, parseScenario } from "../../simulator/replay/scenario-loader.ts";

// Real replays: the process backend, the real SDK clients and the PDF functions.
const folder = mkdtempSync(path.join(tmpdir(), "warmstate-replay-"));
const cacheDir = path.join(folder, "cache");
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe("short replay", () => {
  it("reports the expected counts", async () => {
    const scenario = parseScenario({
      name: "short",
      seed: 3,
      duration: "3m",
      arrivals: { model: "constant", every: "1m", documents: 1 },
      documents: { corpusShare: 0, pages: [{ range: [2, 2], weight: 1 }], distinct: 1 },
      drive: { target: "state-machine", stateMachine: "pdf-batch" },
      toggles: { CLEAN_TMP: true, CLOSE_FDS: true },
    });
    const outDir = path.join(folder, "short");

    const { report } = await runReplay({
      scenario,
      backend: "process",
      speed: "max",
      outDir,
      cacheDir,
    });

    expect(report.executions).toMatchObject({ started: 3, succeeded: 3, failed: 0, running: 0 });
    expect(report.invocations.byFunction["pdf-split"]).toEqual({ total: 3, cold: 1, failed: 0 });
    // The page Map runs both pages of the first document at once: one or two cold starts.
    expect(report.invocations.byFunction["pdf-analyze"].total).toBe(6);
    expect(report.invocations.byFunction["pdf-analyze"].failed).toBe(0);
    expect(report.invocations.byFunction["pdf-analyze"].cold).toBeLessThanOrEqual(2);
    expect(report.invocations.byFunction["pdf-summarize"].total).toBe(6);
    expect(report.failures).toEqual([]);
    // Arrivals at 0, 60 and 120 simulated seconds; the run starts after the simulator is up.
    expect(report.clocks.simulatedSeconds).toBeGreaterThanOrEqual(110);
    expect(existsSync(path.join(outDir, "report.html"))).toBe(true);
    expect(
      JSON.parse(readFileSync(path.join(outDir, "report.json"), "utf8")).invocationList,
    ).toHaveLength(15);
    expect(existsSync(path.join(outDir, "data"))).toBe(false);
  }, 180_000);
});

describe("fixed scenario", () => {
  it("runs a shortened workday without failures", async () => {
    const { scenario, file } = loadScenario("fixed");
    const outDir = path.join(folder, "fixed");

    const { report } = await runReplay({
      scenario: { ...scenario, duration: 25 * 60_000 },
      scenarioFile: file,
      backend: "process",
      speed: "max",
      outDir,
      cacheDir,
    });

    expect(report.executions.started).toBeGreaterThanOrEqual(4);
    expect(report.executions.succeeded).toBe(report.executions.started);
    expect(report.invocations.byFunction["pdf-analyze"].total).toBeGreaterThan(0);
    expect(report.failures).toEqual([]);
    const analyzeLeaks = report.findings.filter(
      (finding) => finding.functionName === "pdf-analyze" && finding.trends.descriptors.leaking,
    );
    expect(analyzeLeaks).toEqual([]);
  }, 300_000);
});

describe("descriptor leak forecast", () => {
  it("lands within 2% of the real EMFILE", async () => {
    const { scenario, file } = loadScenario("fd-exhaustion");
    const outDir = path.join(folder, "fd");

    // 1,050 invocations, one every 10 simulated seconds: past the limit, not much further.
    const { report, run } = await runReplay({
      scenario: { ...scenario, duration: 1_050 * 10_000 },
      scenarioFile: file,
      backend: "process",
      speed: "max",
      outDir,
      cacheDir,
    });
    const firstEmfile = run.invocations.find((invocation) =>
      /EMFILE/.test(invocation.errorMessage ?? ""),
    );
    expect(firstEmfile).toBeDefined();
    const environment = run.environments.find(
      (candidate) => candidate.environmentId === firstEmfile?.environmentId,
    );
    const firstHundred = (environment?.points ?? []).filter((point) => point.n <= 100);
    const forecast = findLeaks({
      environmentId: environment?.environmentId ?? "",
      functionName: "pdf-analyze",
      limits: environment?.limits ?? { descriptors: 1024, tmpBytes: 0, memoryBytes: 0 },
      points: firstHundred.map((point) => ({
        invocationNumber: point.n,
        at: point.at,
        sample: {
          openDescriptors: point.descriptors,
          descriptorTargets: [],
          tmpBytes: point.tmpBytes,
          tmpFiles: 0,
          tmpDeletedOpenBytes: point.tmpDeletedOpenBytes,
          residentBytes: point.residentBytes,
          peakResidentBytes: point.residentBytes,
          processCount: 0,
        },
      })),
    }).trends.descriptors.forecastInvocation;

    const failedAt = firstEmfile?.invocationNumber ?? 0;
    expect(firstHundred).toHaveLength(100);
    expect(forecast).toBeDefined();
    expect(Math.abs((forecast ?? 0) - failedAt) / failedAt).toBeLessThanOrEqual(0.02);
    expect(report.failures[0]).toMatchObject({
      kind: "EMFILE",
      first: { invocationNumber: failedAt },
    });
  }, 900_000);
});
