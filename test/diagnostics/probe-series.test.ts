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
