import type {
  EnvironmentRecord,
  InvocationSummary,
  RunData,
} from "../../simulator/report/run-data.ts";

const MB = 1024 * 1024;
export const START = Date.parse("2026-03-02T14:00:00Z");

/**
 * Builds a recorded run: one pdf-analyze environment leaking a descriptor per
 * invocation until invocation 30 fails with EMFILE, one pdf-split
 * environment whose /tmp fills until invocation 12 fails with ENOSPC, a
 * reclaimed environment, and three executions (one failed and redriven, one with a document
 * that failed on a throttle).
 */
export function recordedRun(): RunData {
  const invocations: InvocationSummary[] = [];
  const analyze: EnvironmentRecord = {
    environmentId: "env-analyze-1",
    functionName: "pdf-analyze",
    createdAt: START,
    status: "idle",
    invocations: 30,
    resets: 1,
    limits: { descriptors: 1024, tmpBytes: 512 * MB, memoryBytes: 1024 * MB },
    points: [],
    firstTargets: ["/dev/null", "socket:[1]"],
    lastTargets: [
      "/dev/null",
      "socket:[1]",
      ...Array.from({ length: 29 }, (_, index) => `/tmp/page-${index + 1}.pdf`),
    ],
  };
  for (let n = 1; n <= 30; n++) {
    const at = START + n * 60_000;
    analyze.points.push({
      n,
      at,
      descriptors: 2 + n,
      tmpBytes: 50_000,
      tmpDeletedOpenBytes: 0,
      residentBytes: 90 * MB,
    });
    invocations.push({
      requestId: `a-${n}`,
      functionName: "pdf-analyze",
      environmentId: analyze.environmentId,
      invocationNumber: n,
      coldStart: n === 1,
      startedAt: at,
      durationMs: 80,
      outcome: n === 30 ? "function-error" : "success",
      ...(n === 30 && {
        errorType: "Error",
        errorMessage: "EMFILE: too many open files, open '/tmp/page-30.pdf'",
      }),
    });
  }

  const split: EnvironmentRecord = {
    environmentId: "env-split-1",
    functionName: "pdf-split",
    createdAt: START,
    status: "idle",
    invocations: 12,
    resets: 0,
    limits: { descriptors: 1024, tmpBytes: 512 * MB, memoryBytes: 1024 * MB },
    points: [],
    firstTargets: [],
    lastTargets: [],
  };
  for (let n = 1; n <= 12; n++) {
    const at = START + n * 120_000;
    split.points.push({
      n,
      at,
      descriptors: 20,
      tmpBytes: n * 44 * MB,
      tmpDeletedOpenBytes: 0,
      residentBytes: 120 * MB,
    });
    invocations.push({
      requestId: `s-${n}`,
      functionName: "pdf-split",
      environmentId: split.environmentId,
      invocationNumber: n,
      coldStart: n === 1,
      startedAt: at,
      durationMs: 900,
      outcome: n === 12 ? "function-error" : "success",
      ...(n === 12 && {
        errorType: "Error",
        errorMessage: "ENOSPC: no space left on device, write",
      }),
    });
  }

  const reclaimed: EnvironmentRecord = {
    environmentId: "env-summarize-1",
    functionName: "pdf-summarize",
    createdAt: START,
    endedAt: START + 20 * 60_000,
    status: "gone",
    endReason: "reclaimed",
    invocations: 1,
    resets: 0,
    limits: { descriptors: 1024, tmpBytes: 512 * MB, memoryBytes: 256 * MB },
    points: [
      {
        n: 1,
        at: START + 60_000,
        descriptors: 18,
        tmpBytes: 0,
        tmpDeletedOpenBytes: 0,
        residentBytes: 60 * MB,
      },
    ],
    firstTargets: [],
    lastTargets: [],
  };
  invocations.push({
    requestId: "m-1",
    functionName: "pdf-summarize",
    environmentId: reclaimed.environmentId,
    invocationNumber: 1,
    coldStart: true,
    startedAt: START + 60_000,
    durationMs: 40,
    outcome: "success",
  });

  return {
    scenario: { name: "recorded", description: "A recorded run for report tests.", seed: 1 },
    backend: "process",
    speed: "max",
    wallStartedAt: "2026-12-04T20:00:00.000Z",
    wallMs: 12_000,
    simulatedStartedAt: START,
    simulatedEndedAt: START + 60 * 60_000,
    interrupted: false,
    invocations,
    environments: [analyze, split, reclaimed],
    executions: [
      {
        executionArn: "arn:aws:states:us-east-1:000000000000:execution:pdf-batch:a-0",
        startedAt: START,
        stoppedAt: START + 100,
        status: "SUCCEEDED",
        documents: 2,
      },
      {
        executionArn: "arn:aws:states:us-east-1:000000000000:execution:pdf-batch:a-1",
        startedAt: START + 10,
        stoppedAt: START + 2_000,
        status: "FAILED",
        error: "States.DataLimitExceeded",
        cause:
          "The state/task returned a result with a size exceeding the maximum number of bytes service limit.",
        documents: 1,
        redriveStatus: "SUCCEEDED",
      },
      {
        executionArn: "arn:aws:states:us-east-1:000000000000:execution:pdf-batch:a-2",
        startedAt: START + 20,
        stoppedAt: START + 3_000,
        status: "SUCCEEDED",
        documents: 3,
        failedDocuments: 1,
        failedDocumentKinds: { throttle: 1 },
        failedDocumentErrors: [
          { key: "in/c.pdf", error: "Lambda.TooManyRequestsException", cause: "Rate Exceeded." },
        ],
      },
    ],
    driverErrors: [],
  };
}
