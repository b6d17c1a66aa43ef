/**
 * Map Runs: the record a Distributed Map state keeps of one run over its
 * items, the child executions it started, and the ListMapRuns and
 * DescribeMapRun operations that read them.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-examine-map-run.html
 */
import { apiErrors } from "./errors.ts";
import type { ExecutionRecord, ExecutionStore } from "./execution-store.ts";
import { type Input, paginate, requireString, seconds } from "./request-helpers.ts";

/**
 * Status of a Map Run, as DescribeMapRun reports it.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html
 */
export type MapRunStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "ABORTED";

/** A Map Run as stored and described. Dates are epoch milliseconds. */
export interface MapRunRecord {
  mapRunArn: string;
  /** The execution whose Distributed Map state started the Map Run. */
  executionArn: string;
  /** The state machine of that execution. */
  stateMachineArn: string;
  /** The Map state's visit in that execution, so a redrive finds the Map Run to rerun. */
  stateKey: string;
  status: MapRunStatus;
  startDate: number;
  stopDate?: number;
  /** MaxConcurrency of the Map state, 0 when it sets no limit. */
  maxConcurrency: number;
  toleratedFailurePercentage: number;
  toleratedFailureCount: number;
  /** Number of items, counting every item of every ItemBatcher batch. */
  itemCount: number;
  /** Number of child executions: one per item, or one per batch. */
  childCount: number;
  redriveCount: number;
  redriveDate?: number;
  /** Child executions whose result ResultWriter exported. */
  resultsWritten: number;
}

/** Counts of DescribeMapRun's itemCounts and executionCounts. */
interface MapRunCounts {
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  aborted: number;
  total: number;
  resultsWritten: number;
  failuresNotRedrivable: number;
  pendingRedrive: number;
}

/** Stores Map Runs and the child executions of each, and serves the Map Run operations. */
export class MapRunRegistry {
  readonly #store: ExecutionStore;
  readonly #runs = new Map<string, MapRunRecord>();
  readonly #runsByExecution = new Map<string, string[]>();
  // Child executions of each Map Run, by item index; an index without a child has not started.
  readonly #children = new Map<string, ExecutionRecord[]>();

  constructor(store: ExecutionStore) {
    this.#store = store;
  }

  /** Adds the Map Runs and child executions loaded from disk. */
  load(runs: MapRunRecord[], executions: ExecutionRecord[]): void {
    for (const run of runs.sort((a, b) => a.startDate - b.startDate)) this.#index(run);
    for (const execution of executions) {
      if (execution.mapRunArn !== undefined) this.addChild(execution);
    }
  }

  /** Registers a new Map Run and stores it. */
  async add(run: MapRunRecord): Promise<void> {
    this.#index(run);
    await this.save(run);
  }

  save(run: MapRunRecord): Promise<void> {
    return this.#store.saveMapRun(run);
  }

  /** Registers a child execution under its Map Run. */
  addChild(execution: ExecutionRecord): void {
    const { mapRunArn, mapRunIndex } = execution;
    if (mapRunArn === undefined || mapRunIndex === undefined) return;
    let children = this.#children.get(mapRunArn);
    if (!children) {
      children = [];
      this.#children.set(mapRunArn, children);
    }
    children[mapRunIndex] = execution;
  }

  /** Returns the child execution of item `index`, or undefined when it never started. */
  child(mapRunArn: string, index: number): ExecutionRecord | undefined {
    return this.#children.get(mapRunArn)?.[index];
  }

  /** Returns the last Map Run that execution `executionArn` started for the Map state visit `stateKey`. */
  latestFor(executionArn: string, stateKey: string): MapRunRecord | undefined {
    const arns = this.#runsByExecution.get(executionArn) ?? [];
    for (let i = arns.length - 1; i >= 0; i--) {
      const run = this.#runs.get(arns[i]);
      if (run?.stateKey === stateKey) return run;
    }
    return undefined;
  }

  /** Returns the Map Run `mapRunArn`; throws ResourceNotFound. */
  get(mapRunArn: string): MapRunRecord {
    const run = this.#runs.get(mapRunArn);
    if (!run) throw apiErrors.resourceNotFound(mapRunArn);
    return run;
  }

  /** Returns the child executions that started, most recent first, as ListExecutions lists them. */
  startedChildren(mapRunArn: string): ExecutionRecord[] {
    const started = (this.#children.get(mapRunArn) ?? []).filter(Boolean);
    return started.sort((a, b) => b.startDate - a.startDate);
  }

  /** Marks Map Runs that were running when the simulator stopped as aborted. */
  async abortRunning(now: number): Promise<void> {
    for (const run of this.#runs.values()) {
      if (run.status !== "RUNNING") continue;
      run.status = "ABORTED";
      run.stopDate = now;
      await this.save(run);
    }
  }

  /**
   * ListMapRuns of an execution, in the order they started.
   * https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListMapRuns.html
   */
  list(executionArn: string, input: Input): Input {
    const runs = (this.#runsByExecution.get(executionArn) ?? []).map(
      (arn) => this.#runs.get(arn) as MapRunRecord,
    );
    const page = paginate(runs, input, 1000, 100);
    return {
      mapRuns: page.items.map((run) => ({
        executionArn: run.executionArn,
        mapRunArn: run.mapRunArn,
        stateMachineArn: run.stateMachineArn,
        startDate: seconds(run.startDate),
        stopDate: seconds(run.stopDate),
      })),
      nextToken: page.nextToken,
    };
  }

  /**
   * DescribeMapRun. itemCounts weigh each child by the items of its batch;
   * executionCounts count children.
   * https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html
   * https://docs.aws.amazon.com/step-functions/latest/apireference/API_MapRunItemCounts.html
   */
  describe(input: Input): Input {
    const run = this.get(requireString(input, "mapRunArn"));
    return {
      mapRunArn: run.mapRunArn,
      executionArn: run.executionArn,
      status: run.status,
      startDate: seconds(run.startDate),
      stopDate: seconds(run.stopDate),
      maxConcurrency: run.maxConcurrency,
      toleratedFailurePercentage: run.toleratedFailurePercentage,
      toleratedFailureCount: run.toleratedFailureCount,
      itemCounts: this.#counts(run, (child) => child.itemCount ?? 1, run.itemCount),
      executionCounts: this.#counts(run, () => 1, run.childCount),
      redriveCount: run.redriveCount,
      redriveDate: seconds(run.redriveDate),
    };
  }

  #counts(
    run: MapRunRecord,
    weight: (child: ExecutionRecord) => number,
    total: number,
  ): MapRunCounts {
    const counts: MapRunCounts = {
      pending: 0,
      running: 0,
      succeeded: 0,
      failed: 0,
      timedOut: 0,
      aborted: 0,
      total,
      resultsWritten: 0,
      failuresNotRedrivable: 0,
      pendingRedrive: 0,
    };
    const children = this.#children.get(run.mapRunArn) ?? [];
    let started = 0;
    for (const child of children) {
      if (!child) continue;
      const items = weight(child);
      started += items;
      if (child.status === "RUNNING") counts.running += items;
      else if (child.status === "PENDING_REDRIVE") counts.pendingRedrive += items;
      else if (child.status === "SUCCEEDED") counts.succeeded += items;
      else if (child.status === "FAILED") counts.failed += items;
      else if (child.status === "TIMED_OUT") counts.timedOut += items;
      else if (child.status === "ABORTED") counts.aborted += items;
      if (child.status !== "SUCCEEDED" && child.notRedrivableReason !== undefined)
        counts.failuresNotRedrivable += items;
    }
    counts.pending = Math.max(0, total - started);
    // ResultWriter exports every child's result at once, so the count is all or none.
    counts.resultsWritten = run.resultsWritten > 0 ? started : 0;
    return counts;
  }

  #index(run: MapRunRecord): void {
    this.#runs.set(run.mapRunArn, run);
    const list = this.#runsByExecution.get(run.executionArn) ?? [];
    list.push(run.mapRunArn);
    this.#runsByExecution.set(run.executionArn, list);
  }
}
