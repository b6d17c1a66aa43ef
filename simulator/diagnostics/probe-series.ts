/**
 * Collects the probe series of every execution environment from the Lambda
 * service's events: one compact point per invocation, the descriptor
 * targets and /tmp file groups of the first and the latest probe, and a
 * summary of each invocation. The replay report and the live diagnostics routes read it.
 */
import { DEFAULT_NOFILE } from "../lambda/function-config.ts";
import type { EnvironmentInfo, InvocationRecord } from "../lambda/types.ts";
import { classifyFailure } from "../report/failure-kinds.ts";
import type { EnvironmentRecord, InvocationSummary } from "../report/run-data.ts";
import type { ResourceSample } from "../sandbox/backend.ts";
import type { EnvironmentLimits } from "./leak-findings.ts";
import { RESET_OUTCOMES } from "./runtime-resets.ts";

/** Part of the Lambda service the store listens to. */
export interface ObservedLambda {
  events: {
    on(event: "invocation", listener: (record: InvocationRecord) => void): unknown;
    on(event: "environment", listener: (info: EnvironmentInfo) => void): unknown;
    off(event: "invocation", listener: (record: InvocationRecord) => void): unknown;
    off(event: "environment", listener: (info: EnvironmentInfo) => void): unknown;
  };
  registry: {
    resolve(functionName: string): { config: { memorySize: number; ephemeralStorageSize: number } };
  };
}

const MB = 1024 * 1024;
/**
 * Runtime resets kept per environment, the latest ones. A function that
 * times out on every invocation would otherwise grow its record without end.
 */
const MAX_RESETS_KEPT = 100;

/** Bounds on what a store keeps, for a server that runs for days. Unbounded when absent. */
export interface ProbeSeriesBounds {
  /** Invocation summaries kept. The oldest ones are dropped first. */
  maxInvocations?: number;
  /** Gone environments kept with their series. Those gone longest are dropped first. */
  maxGoneEnvironments?: number;
}

/** Probe series and invocation summaries of every environment seen. */
export class ProbeSeriesStore {
  #environments = new Map<string, EnvironmentRecord>();
  #invocations: InvocationSummary[] = [];
  #invocationCount = 0;
  #goneEnvironmentIds: string[] = [];
  #limitsByFunction = new Map<string, EnvironmentLimits>();
  #lambda: ObservedLambda;
  #now: () => number;
  #bounds: ProbeSeriesBounds;
  #onInvocation = (record: InvocationRecord) => this.record(record);
  #onEnvironment = (info: EnvironmentInfo) => this.observe(info);

  /** Starts listening; `now` is the simulator clock, for the time an environment is seen gone. */
  constructor(lambda: ObservedLambda, now: () => number, bounds: ProbeSeriesBounds = {}) {
    this.#lambda = lambda;
    this.#now = now;
    this.#bounds = bounds;
    lambda.events.on("invocation", this.#onInvocation);
    lambda.events.on("environment", this.#onEnvironment);
  }

  /** Stops listening; what was collected stays readable. */
  detach(): void {
    this.#lambda.events.off("invocation", this.#onInvocation);
    this.#lambda.events.off("environment", this.#onEnvironment);
  }

  /** Returns every environment seen, oldest first. */
  environments(functionName?: string): EnvironmentRecord[] {
    const all = [...this.#environments.values()];
    return functionName
      ? all.filter((environment) => environment.functionName === functionName)
      : all;
  }

  /** Returns every invocation seen, in the order they ended. */
  invocations(functionName?: string): InvocationSummary[] {
    return functionName
      ? this.#invocations.filter((invocation) => invocation.functionName === functionName)
      : [...this.#invocations];
  }

  /** Number of invocations seen, dropped ones included. */
  get invocationCount(): number {
    return this.#invocationCount;
  }

  /** Adds one invocation and its probe. */
  record(record: InvocationRecord): void {
    this.#invocations.push({
      requestId: record.requestId,
      functionName: record.functionName,
      environmentId: record.environmentId,
      invocationNumber: record.invocationNumber,
      coldStart: record.coldStart,
      startedAt: record.startedAt,
      durationMs: Math.round(record.durationMs),
      outcome: record.outcome,
      errorType: record.errorType,
      errorMessage: record.errorMessage?.slice(0, 500),
      caller: record.caller,
    });
    this.#invocationCount += 1;
    this.#dropOldInvocations();

    const environment = this.#environmentFor(
      record.environmentId,
      record.functionName,
      record.startedAt,
    );
    environment.invocations = Math.max(environment.invocations, record.invocationNumber);
    if (record.outcome !== "success") this.#noteFailure(environment, record);
    if (record.probe)
      this.#addPoint(environment, record.invocationNumber, record.startedAt, record.probe);
  }

  /** Updates an environment's status from a lifecycle event. */
  observe(info: EnvironmentInfo): void {
    const environment = this.#environmentFor(info.environmentId, info.functionName, info.createdAt);
    environment.status = info.status;
    environment.endReason = info.endReason;
    environment.resets = info.resets;
    environment.invocations = Math.max(environment.invocations, info.invocations);
    if (info.status === "gone" && environment.endedAt === undefined) {
      environment.endedAt = this.#now();
      this.#goneEnvironmentIds.push(info.environmentId);
      this.#dropOldEnvironments();
    }
  }

  // Keeps what the leak findings need: which invocation first ran out of
  // /tmp or descriptors, and where the runtime was reset.
  #noteFailure(environment: EnvironmentRecord, record: InvocationRecord): void {
    const failures = environment.failures ?? { resets: [] };
    environment.failures = failures;

    const kind = classifyFailure({
      outcome: record.outcome,
      errorType: record.errorType,
      message: record.errorMessage,
    });
    if (kind === "ENOSPC") failures.firstEnospcInvocation ??= record.invocationNumber;
    if (kind === "EMFILE") failures.firstEmfileInvocation ??= record.invocationNumber;

    if (record.outcome === "out-of-memory") {
      failures.firstOutOfMemoryInvocation ??= record.invocationNumber;
      failures.outOfMemoryKills = (failures.outOfMemoryKills ?? 0) + 1;
    }

    if (!RESET_OUTCOMES.has(record.outcome)) return;
    failures.resets.push({ invocationNumber: record.invocationNumber, outcome: record.outcome });
    if (failures.resets.length > MAX_RESETS_KEPT) failures.resets.shift();
  }

  // Drops in batches of a tenth of the bound, so an invocation does not shift the array each time.
  #dropOldInvocations(): void {
    const max = this.#bounds.maxInvocations;
    if (max === undefined || this.#invocations.length <= max + Math.ceil(max / 10)) return;
    this.#invocations.splice(0, this.#invocations.length - max);
  }

  #dropOldEnvironments(): void {
    const max = this.#bounds.maxGoneEnvironments;
    if (max === undefined) return;
    while (this.#goneEnvironmentIds.length > max) {
      this.#environments.delete(this.#goneEnvironmentIds.shift() as string);
    }
  }

  #environmentFor(
    environmentId: string,
    functionName: string,
    createdAt: number,
  ): EnvironmentRecord {
    let environment = this.#environments.get(environmentId);
    if (!environment) {
      environment = {
        environmentId,
        functionName,
        createdAt,
        status: "starting",
        invocations: 0,
        resets: 0,
        limits: this.#limitsOf(functionName),
        points: [],
        firstTargets: [],
        lastTargets: [],
        failures: { resets: [] },
      };
      this.#environments.set(environmentId, environment);
    }
    return environment;
  }

  // Limits are read when an environment is first seen, which is close enough
  // to its start: a configuration change recycles it anyway.
  #limitsOf(functionName: string): EnvironmentLimits {
    let limits = this.#limitsByFunction.get(functionName);
    if (!limits) {
      try {
        const { config } = this.#lambda.registry.resolve(functionName);
        limits = {
          descriptors: DEFAULT_NOFILE,
          tmpBytes: config.ephemeralStorageSize * MB,
          memoryBytes: config.memorySize * MB,
        };
      } catch {
        limits = { descriptors: DEFAULT_NOFILE, tmpBytes: 512 * MB, memoryBytes: 128 * MB };
      }
    }
    return limits;
  }

  #addPoint(environment: EnvironmentRecord, n: number, at: number, probe: ResourceSample): void {
    environment.points.push({
      n,
      at,
      descriptors: probe.openDescriptors,
      tmpBytes: probe.tmpBytes,
      tmpDeletedOpenBytes: probe.tmpDeletedOpenBytes,
      tmpFiles: probe.tmpFiles,
      residentBytes: probe.residentBytes,
    });
    if (environment.points.length === 1) {
      environment.firstTargets = probe.descriptorTargets;
      environment.firstTmpGroups = probe.tmpFileGroups;
    }
    environment.lastTargets = probe.descriptorTargets;
    environment.lastTmpGroups = probe.tmpFileGroups;
  }
}
