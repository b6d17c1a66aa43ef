import { describe, expect, it } from "vitest";
import { buildReport } from "../../simulator/report/build-report.ts";
import { renderHtmlReport } from "../../simulator/report/html-report.ts";
import { summarizeReruns } from "../../simulator/report/reruns.ts";
import type {
  EnvironmentRecord,
  ExecutionSummary,
  InvocationSummary,
  RunData,
} from "../../simulator/report/run-data.ts";
import { renderTerminalSummary } from "../../simulator/report/terminal-summary.ts";

const MB = 1024 * 1024;
const MINUTE = 60_000;
const START = Date.parse("2026-03-02T14:00:00Z");
const ARN = "arn:aws:states:us-east-1:000000000000:execution:pdf-batch-strict:";
const ENOSPC_CAUSE = JSON.stringify({
  errorType: "Error",
  errorMessage: "ENOSPC: no space left on device, write",
  trace: [],
});

function environment(
  environmentId: string,
  functionName: string,
  createdAt: number,
): EnvironmentRecord {
  return {
    environmentId,
    functionName,
    createdAt,
    status: "gone",
    endReason: "shutdown",
    invocations: 0,
    resets: 0,
    limits: { descriptors: 1024, tmpBytes: 512 * MB, memoryBytes: 1024 * MB },
    points: [],
    firstTargets: [],
    lastTargets: [],
  };
}

function invocation(
  environmentId: string,
  functionName: string,
  invocationNumber: number,
  startedAt: number,
  error?: string,
): InvocationSummary {
  return {
    requestId: `${environmentId}-${invocationNumber}`,
    functionName,
    environmentId,
    invocationNumber,
    coldStart: invocationNumber === 1,
    startedAt,
    durationMs: 100,
    outcome: error ? "function-error" : "success",
    ...(error && { errorType: "Error", errorMessage: error }),
  };
}

/**
 * pdf-split's first environment fills /tmp: its invocation 12 fails with
 * ENOSPC inside arrival-00011. An hour later the redrive of that execution
 * cold-starts a second pdf-split environment and reuses the warm pdf-analyze one.
 */
function runWithRedrive(
  changes: { rerunOn?: string; extraExecutions?: ExecutionSummary[] } = {},
): RunData {
  const full = environment("split-full", "pdf-split", START);
  const fresh = environment("split-fresh", "pdf-split", START + 60 * MINUTE);
  const analyze = environment("analyze-old", "pdf-analyze", START);
  const invocations: InvocationSummary[] = [];
  for (let n = 1; n <= 12; n++) {
    invocations.push(
      invocation(
        full.environmentId,
        "pdf-split",
        n,
        START + n * MINUTE,
        n === 12 ? "ENOSPC: no space left on device, write" : undefined,
      ),
    );
  }
  invocations.push(invocation(analyze.environmentId, "pdf-analyze", 1, START + 5 * MINUTE));

  const rerunSplit =
    changes.rerunOn === "split-full"
      ? invocation(full.environmentId, "pdf-split", 13, START + 60 * MINUTE + 10)
      : invocation(fresh.environmentId, "pdf-split", 1, START + 60 * MINUTE + 10);
  invocations.push(
    rerunSplit,
    invocation(analyze.environmentId, "pdf-analyze", 2, START + 60 * MINUTE + 2_000),
  );

  const failed: ExecutionSummary = {
    executionArn: `${ARN}arrival-00011`,
    startedAt: START + 12 * MINUTE - 50,
    stoppedAt: START + 12 * MINUTE + 500,
    status: "FAILED",
    error: "Error",
    cause: ENOSPC_CAUSE,
    documents: 1,
    redriveStatus: "SUCCEEDED",
    redrivenAt: START + 60 * MINUTE,
    redriveStoppedAt: START + 60 * MINUTE + 5_000,
    failedDocuments: 0,
  };
  return {
    scenario: { name: "redrive", description: "", seed: 1 },
    backend: "process",
    speed: "max",
    wallStartedAt: "2026-12-04T20:00:00.000Z",
    wallMs: 10_000,
    simulatedStartedAt: START,
    simulatedEndedAt: START + 62 * MINUTE,
    interrupted: false,
    invocations,
    environments: [full, fresh, analyze],
    executions: [failed, ...(changes.extraExecutions ?? [])],
    driverErrors: [],
  };
}

describe("re-run summaries", () => {
  it("places the first attempt on the failed invocation", () => {
    const [rerun] = summarizeReruns(runWithRedrive());

    expect(rerun.failure).toEqual({
      at: START + 12 * MINUTE,
      kind: "ENOSPC",
      error: "Error: ENOSPC: no space left on device, write",
      functionName: "pdf-split",
      environmentId: "split-full",
      invocationNumber: 12,
    });
  });

  it("lists the failed function's landing first", () => {
    const [rerun] = summarizeReruns(runWithRedrive());

    expect(rerun).toMatchObject({
      method: "redrive",
      executionName: "arrival-00011",
      status: "SUCCEEDED",
      passed: true,
      exact: true,
    });
    expect(rerun.landings).toEqual([
      {
        functionName: "pdf-split",
        environmentId: "split-fresh",
        invocationNumber: 1,
        coldStart: true,
        sameEnvironment: false,
        fresh: true,
        invocations: 1,
        failed: 0,
      },
      {
        functionName: "pdf-analyze",
        environmentId: "analyze-old",
        invocationNumber: 2,
        coldStart: false,
        sameEnvironment: false,
        fresh: false,
        invocations: 1,
        failed: 0,
      },
    ]);
  });

  it("marks a re-run on the environment that failed", () => {
    const [rerun] = summarizeReruns(runWithRedrive({ rerunOn: "split-full" }));

    expect(rerun.landings[0]).toMatchObject({
      environmentId: "split-full",
      invocationNumber: 13,
      sameEnvironment: true,
      fresh: false,
    });
  });

  it("is not exact when another execution overlaps", () => {
    const overlapping: ExecutionSummary = {
      executionArn: `${ARN}late`,
      startedAt: START + 59 * MINUTE,
      stoppedAt: START + 61 * MINUTE,
      status: "SUCCEEDED",
      documents: 1,
    };

    const [rerun] = summarizeReruns(runWithRedrive({ extraExecutions: [overlapping] }));

    expect(rerun.exact).toBe(false);
  });

  it("matches invocations by their caller when records name it", () => {
    const overlapping: ExecutionSummary = {
      executionArn: `${ARN}late`,
      startedAt: START + 59 * MINUTE,
      stoppedAt: START + 61 * MINUTE,
      status: "SUCCEEDED",
      documents: 1,
    };
    const run = runWithRedrive({ extraExecutions: [overlapping] });
    const failedArn = `${ARN}arrival-00011`;
    for (const record of run.invocations) {
      const redrive = record.startedAt >= START + 60 * MINUTE;
      record.caller = { executionArn: failedArn, redriveCount: redrive ? 1 : 0 };
    }
    // The overlapping execution invokes pdf-split during the redrive, on an environment of its own.
    run.environments.push(environment("split-other", "pdf-split", START + 59 * MINUTE));
    run.invocations.push({
      ...invocation("split-other", "pdf-split", 1, START + 60 * MINUTE + 20),
      caller: { executionArn: `${ARN}late`, redriveCount: 0 },
    });

    const [rerun] = summarizeReruns(run);

    expect(rerun.exact).toBe(true);
    expect(rerun.failure.environmentId).toBe("split-full");
    expect(rerun.landings.map((landing) => landing.environmentId)).toEqual([
      "split-fresh",
      "analyze-old",
    ]);
  });

  it("follows a failed document into its new execution", () => {
    const run = runWithRedrive();
    const original: ExecutionSummary = {
      executionArn: `${ARN}arrival-00011`,
      startedAt: START + 12 * MINUTE - 50,
      stoppedAt: START + 12 * MINUTE + 500,
      status: "SUCCEEDED",
      documents: 1,
      failedDocuments: 1,
      failedDocumentErrors: [{ key: "in/00011/0-a.pdf", error: "Error", cause: ENOSPC_CAUSE }],
    };
    const retry: ExecutionSummary = {
      executionArn: `${ARN}retry-0000`,
      startedAt: START + 60 * MINUTE,
      stoppedAt: START + 60 * MINUTE + 5_000,
      status: "SUCCEEDED",
      documents: 1,
      failedDocuments: 0,
      retry: true,
      retryOf: { executionArn: original.executionArn, key: "in/00011/0-a.pdf" },
    };

    const [rerun] = summarizeReruns({ ...run, executions: [original, retry] });

    expect(rerun).toMatchObject({
      method: "new execution",
      executionName: "arrival-00011",
      rerunExecutionName: "retry-0000",
      document: "in/00011/0-a.pdf",
      passed: true,
    });
    expect(rerun.failure).toMatchObject({
      kind: "ENOSPC",
      environmentId: "split-full",
      invocationNumber: 12,
    });
    expect(rerun.landings[0]).toMatchObject({
      environmentId: "split-fresh",
      coldStart: true,
      fresh: true,
    });
  });
});

describe("re-runs in the reports", () => {
  const report = buildReport(runWithRedrive());

  it("names both environments in the terminal summary", () => {
    const text = renderTerminalSummary(report);

    expect(text).toContain("Re-runs: 1, 1 passed; 1 landed on a fresh environment.");
    expect(text).toMatch(
      /arrival-00011\s+ENOSPC in pdf-split on env split-fu at its invocation 12\s+03-02 14:12:00\s+redrive at 03-02 15:00:00\s+pdf-split on fresh env split-fr, invocation 1 \(cold start\)\s+passed/,
    );
  });

  it("renders a re-run table in HTML", () => {
    const html = renderHtmlReport(report, runWithRedrive().invocations);

    expect(html).toContain('<table id="reruns">');
    expect(html).toContain("ENOSPC in pdf-split on env split-full at its invocation 12");
    expect(html).toContain(
      '<span class="ok">a fresh environment</span> <code>split-fresh</code>, invocation 1 (cold start)',
    );
  });

  it("gives a re-run's failure the same error text as the failures table", () => {
    const enospc = report.failures.find((failure) => failure.kind === "ENOSPC");

    expect(report.reruns[0].failure.error).toBe("Error: ENOSPC: no space left on device, write");
    expect(enospc?.first.error).toBe(report.reruns[0].failure.error);
  });

  it("shows a failed redrive's error without the runtime's JSON", () => {
    const run = runWithRedrive();
    Object.assign(run.executions[0], {
      redriveStatus: "FAILED",
      redriveError: "Error",
      redriveCause: ENOSPC_CAUSE,
    });
    const failedAgain = buildReport(run);

    expect(failedAgain.reruns[0].error).toBe("Error: ENOSPC: no space left on device, write");
    expect(renderTerminalSummary(failedAgain)).toContain(
      "failed again: Error: ENOSPC: no space left on",
    );
    expect(renderHtmlReport(failedAgain, run.invocations)).toContain(
      "failed again</span> Error: ENOSPC: no space left on device, write",
    );
    expect(JSON.stringify(failedAgain.reruns)).not.toContain("errorType");
  });

  it("counts the execution failure with its environment", () => {
    const enospc = report.failures.find((failure) => failure.kind === "ENOSPC");

    expect(enospc).toMatchObject({
      invocations: 1,
      executions: 1,
      first: { environmentId: "split-full", invocationNumber: 12 },
    });
    expect(report.environments).toMatchObject({ started: 3, shutDown: 3, live: 0 });
  });
});
