import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { type ObservedLambda, ProbeSeriesStore } from "../../simulator/diagnostics/probe-series.ts";
import type { EnvironmentInfo, InvocationRecord } from "../../simulator/lambda/types.ts";
import type { TmpFileGroup } from "../../simulator/sandbox/backend.ts";

// The part of the Lambda service the store listens to: its event emitter and registry.
function observedLambda(): ObservedLambda & { events: EventEmitter } {
  return {
    events: new EventEmitter(),
    registry: { resolve: () => ({ config: { memorySize: 128, ephemeralStorageSize: 512 } }) },
  };
}

function invocation(
  environmentId: string,
  invocationNumber: number,
  tmpFileGroups?: TmpFileGroup[],
): InvocationRecord {
  return {
    requestId: `${environmentId}-${invocationNumber}`,
    functionName: "writer",
    version: "$LATEST",
    environmentId,
    invocationNumber,
    coldStart: invocationNumber === 1,
    startedAt: invocationNumber * 1_000,
    durationMs: 5,
    outcome: "success",
    probe: {
      openDescriptors: 20,
      descriptorTargets: [],
      tmpBytes: 0,
      tmpFiles: 0,
      tmpDeletedOpenBytes: 0,
      residentBytes: 0,
      peakResidentBytes: 0,
      processCount: 1,
      tmpFileGroups,
    },
  };
}

function gone(environmentId: string): EnvironmentInfo {
  return {
    environmentId,
    functionName: "writer",
    version: "$LATEST",
    configurationId: "configuration",
    status: "gone",
    createdAt: 0,
    invocations: 1,
    resets: 0,
    endReason: "reclaimed",
    logStreamName: `2026/01/01/[$LATEST]${environmentId}`,
  };
}

function group(files: number): TmpFileGroup {
  return {
    pattern: "/tmp/page-*.png",
    example: "/tmp/page-1.png",
    files,
    bytes: files * 4096,
    bytesEstimated: false,
    deleted: false,
  };
}

describe("probe series store", () => {
  it("keeps /tmp groups of the first and last probe", () => {
    const lambda = observedLambda();
    const store = new ProbeSeriesStore(lambda, () => 0);

    for (let n = 1; n <= 3; n++)
      lambda.events.emit("invocation", invocation("env-1", n, [group(n)]));
    const [environment] = store.environments();

    expect(environment.firstTmpGroups).toEqual([group(1)]);
    expect(environment.lastTmpGroups).toEqual([group(3)]);
  });

  it("drops the oldest invocations past its bound", () => {
    const lambda = observedLambda();
    const store = new ProbeSeriesStore(lambda, () => 0, { maxInvocations: 10 });

    for (let n = 1; n <= 25; n++) lambda.events.emit("invocation", invocation("env-1", n));
    const kept = store.invocations();

    expect(store.invocationCount).toBe(25);
    expect(kept.length).toBeGreaterThanOrEqual(10);
    expect(kept.length).toBeLessThanOrEqual(11);
    expect(kept[kept.length - 1].invocationNumber).toBe(25);
  });

  it("drops the environments gone longest past its bound", () => {
    const lambda = observedLambda();
    const store = new ProbeSeriesStore(lambda, () => 0, { maxGoneEnvironments: 2 });

    for (const id of ["env-1", "env-2", "env-3", "env-4"])
      lambda.events.emit("invocation", invocation(id, 1));
    for (const id of ["env-1", "env-2", "env-3"]) lambda.events.emit("environment", gone(id));

    expect(store.environments().map((environment) => environment.environmentId)).toEqual([
      "env-2",
      "env-3",
      "env-4",
    ]);
  });
});

describe("probe series failures", () => {
  function failed(
    invocationNumber: number,
    outcome: InvocationRecord["outcome"],
    errorMessage: string,
  ): InvocationRecord {
    return { ...invocation("env-1", invocationNumber), outcome, errorType: "Error", errorMessage };
  }

  it("keeps the first ENOSPC and EMFILE", () => {
    const lambda = observedLambda();
    const store = new ProbeSeriesStore(lambda, () => 0);
    lambda.events.emit("invocation", invocation("env-1", 1));
    lambda.events.emit(
      "invocation",
      failed(2, "function-error", "ENOSPC: no space left on device"),
    );
    lambda.events.emit(
      "invocation",
      failed(3, "function-error", "ENOSPC: no space left on device"),
    );
    lambda.events.emit("invocation", failed(4, "function-error", "EMFILE: too many open files"));

    const failures = store.environments()[0].failures;
    expect(failures?.firstEnospcInvocation).toBe(2);
    expect(failures?.firstEmfileInvocation).toBe(4);
    expect(failures?.resets).toEqual([]);
  });

  it("records resets and out-of-memory kills", () => {
    const lambda = observedLambda();
    const store = new ProbeSeriesStore(lambda, () => 0);
    lambda.events.emit("invocation", failed(5, "out-of-memory", "signal: killed"));
    lambda.events.emit("invocation", failed(9, "timeout", "Task timed out after 3.00 seconds"));
    lambda.events.emit("invocation", failed(12, "out-of-memory", "signal: killed"));

    const failures = store.environments()[0].failures;
    expect(failures?.firstOutOfMemoryInvocation).toBe(5);
    expect(failures?.outOfMemoryKills).toBe(2);
    expect(failures?.resets.map((reset) => reset.invocationNumber)).toEqual([5, 9, 12]);
  });

  it("keeps the latest 100 resets", () => {
    const lambda = observedLambda();
    const store = new ProbeSeriesStore(lambda, () => 0);
    for (let n = 1; n <= 150; n++)
      lambda.events.emit("invocation", failed(n, "timeout", "Task timed out after 3.00 seconds"));

    const resets = store.environments()[0].failures?.resets ?? [];
    expect(resets).toHaveLength(100);
    expect(resets[0].invocationNumber).toBe(51);
  });

  it("starts with no failures", () => {
    const lambda = observedLambda();
    const store = new ProbeSeriesStore(lambda, () => 0);
    lambda.events.emit("invocation", invocation("env-1", 1));

    expect(store.environments()[0].failures).toEqual({ resets: [] });
  });
});
