import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeReports } from "../../simulator/replay/replay-run.ts";
import { buildReport } from "../../simulator/report/build-report.ts";
import { classifyFailure } from "../../simulator/report/failure-kinds.ts";
import { renderHtmlReport } from "../../simulator/report/html-report.ts";
import { renderTerminalSummary } from "../../simulator/report/terminal-summary.ts";
import { recordedRun, START } from "./run-fixture.ts";

describe("report counts", () => {
  const report = buildReport(recordedRun());

  it("counts executions and redrives", () => {
    expect(report.executions).toMatchObject({
      started: 3,
      succeeded: 2,
      failed: 1,
      redriven: 1,
      succeededAfterRedrive: 1,
      failedAfterRedrive: 0,
    });
  });

  it("counts documents", () => {
    expect(report.documents).toEqual({
      submitted: 6,
      failed: 1,
      inFailedExecutions: 1,
      retried: 0,
      failedOnRetry: 0,
    });
  });

  it("counts cold and warm invocations", () => {
    expect(report.invocations).toMatchObject({ total: 43, cold: 3, warm: 40, failed: 2 });
    expect(report.invocations.byFunction["pdf-analyze"]).toEqual({ total: 30, cold: 1, failed: 1 });
  });

  it("counts environments by how they ended", () => {
    expect(report.environments).toEqual({
      started: 3,
      reclaimed: 1,
      recycled: 0,
      reset: 1,
      shutDown: 0,
      live: 2,
    });
  });

  it("gives each failure kind its first occurrence", () => {
    const kinds = report.failures.map((failure) => failure.kind);
    expect(kinds).toEqual(["ENOSPC", "EMFILE", "throttle", "States.DataLimitExceeded"]);

    const emfile = report.failures.find((failure) => failure.kind === "EMFILE");
    expect(emfile?.first).toMatchObject({
      functionName: "pdf-analyze",
      environmentId: "env-analyze-1",
      invocationNumber: 30,
      at: START + 30 * 60_000,
    });
    const dataLimit = report.failures.find(
      (failure) => failure.kind === "States.DataLimitExceeded",
    );
    expect(dataLimit?.executions).toBe(1);
    const throttle = report.failures.find((failure) => failure.kind === "throttle");
    expect(throttle?.documents).toBe(1);
    expect(throttle?.first.error).toContain("in/c.pdf: Lambda.TooManyRequestsException");
    expect(throttle?.first.environmentId).toBeUndefined();
    expect(throttle?.first.noEnvironment).toBe(
      "none: Lambda throttles a request before it assigns an environment",
    );
  });

  it("reports both clocks", () => {
    expect(report.clocks.simulatedSeconds).toBe(3_600);
    expect(report.clocks.wallSeconds).toBe(12);
    expect(report.clocks.speedup).toBe(300);
  });

  it("finds the two leaks", () => {
    const byEnvironment = Object.fromEntries(
      report.findings.map((finding) => [finding.environmentId, finding]),
    );
    expect(byEnvironment["env-analyze-1"].trends.descriptors.forecastInvocation).toBe(1023);
    expect(byEnvironment["env-analyze-1"].descriptorGrowth[0].pattern).toBe("/tmp/page-*.pdf");
    expect(byEnvironment["env-split-1"].trends.tmpBytes.leaking).toBe(true);
    expect(byEnvironment["env-summarize-1"]).toBeUndefined();
  });
});

describe("failure kinds", () => {
  it.each([
    [{ errorType: "Error", message: "ENOSPC: no space left on device, write" }, "ENOSPC"],
    [
      { errorType: "Error", message: "EMFILE: too many open files, open '/tmp/page-3.pdf'" },
      "EMFILE",
    ],
    [{ outcome: "out-of-memory", errorType: "Runtime.OutOfMemory" }, "out of memory"],
    [{ outcome: "timeout", errorType: "Sandbox.Timedout" }, "timeout"],
    [{ errorType: "Lambda.TooManyRequestsException" }, "throttle"],
    [{ errorType: "States.DataLimitExceeded" }, "States.DataLimitExceeded"],
    [{ errorType: "EncryptedPDFError", message: "The PDF is encrypted" }, "bad document"],
    [{ errorType: "TypeError", message: "x is undefined" }, "other"],
  ])("classifies %j as %s", (facts, kind) => {
    expect(classifyFailure(facts)).toBe(kind);
  });
});

describe("terminal summary", () => {
  it("shows counts, first occurrences and findings", () => {
    const text = renderTerminalSummary(buildReport(recordedRun()));

    expect(text).toContain("2 succeeded, 1 failed; 1 redriven: 1 succeeded, 0 failed again");
    expect(text).toContain("1 failed and reported by their batch, 1 in executions that failed");
    expect(text).toContain("1 reclaimed, 0 recycled, 1 reset, 2 still running");
    expect(text).toMatch(
      /throttle\s+0\s+0\s+1\s+-\s+none: Lambda throttles a request before it assigns an environment/,
    );
    expect(text).toContain("3 cold, 40 warm, 2 failed");
    expect(text).toMatch(
      /EMFILE\s+1\s+0\s+0\s+pdf-analyze\s+env-analyze-1\s+30\s+2026-03-02T14:30:00Z/,
    );
    expect(text).toContain("all to /tmp/page-*.pdf");
    expect(text).toContain("300 simulated seconds per wall second");
  });
});

describe("report files", () => {
  const folder = mkdtempSync(path.join(tmpdir(), "warmstate-report-"));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it("writes report.json with every invocation", () => {
    const { reportJsonPath } = writeReports(recordedRun(), folder);
    const written = JSON.parse(readFileSync(reportJsonPath, "utf8"));

    expect(written.invocations.total).toBe(43);
    expect(written.invocationList).toHaveLength(43);
    expect(written.failures).toHaveLength(4);
  });

  it("writes HTML that fetches nothing", () => {
    const html = renderHtmlReport(buildReport(recordedRun()), recordedRun().invocations);

    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain('class="limit"');
    expect(html.match(/data-environment=/g)).toHaveLength(2);
  });
});

describe("function-target report", () => {
  // A scenario that invokes pdf-split once per document: no executions at all.
  function directRun() {
    return {
      ...recordedRun(),
      executions: [],
      directInvocations: { functionName: "pdf-split", submitted: 60, invoked: 60, failed: 21 },
    };
  }

  it("shows documents and direct invocations instead of executions", () => {
    const text = renderTerminalSummary(buildReport(directRun()));

    expect(text).toMatch(
      /documents\s+60\s+39 succeeded, 21 failed, one direct invocation of pdf-split each/,
    );
    expect(text).not.toMatch(/^executions\s+\d/m);
  });

  it("shows the same row in HTML", () => {
    const run = directRun();
    const html = renderHtmlReport(buildReport(run), run.invocations);

    expect(html).toContain(
      '<tr><td>Documents</td><td class="num">60</td><td>39 succeeded, 21 failed, one direct invocation of pdf-split each</td></tr>',
    );
    expect(html).not.toContain("<td>Executions</td>");
  });

  it("counts documents not invoked when the run ended", () => {
    const run = {
      ...directRun(),
      directInvocations: { functionName: "pdf-split", submitted: 10, invoked: 8, failed: 1 },
    };

    expect(renderTerminalSummary(buildReport(run))).toContain(
      "7 succeeded, 1 failed, one direct invocation of pdf-split each; 2 not invoked when the run ended",
    );
  });
});

describe("report wording", () => {
  it("uses the singular for one environment with findings", () => {
    const run = recordedRun();
    const report = buildReport(run);
    report.findings = report.findings.slice(0, 1);

    expect(renderTerminalSummary(report)).toContain("Leak findings (1 environment):");
  });

  it("uses the singular for one reset and one invocation in HTML", () => {
    const run = recordedRun();
    const report = buildReport(run);
    report.environmentSeries = report.environmentSeries.map((environment) => ({
      ...environment,
      resets: 1,
    }));

    expect(renderHtmlReport(report, run.invocations)).toMatch(/invocations, 1 reset[,<]/);
  });
});
