/**
 * Runs the Map Runs of Distributed Map states: every item (or ItemBatcher
 * batch) becomes a child execution with its own ARN, record and history,
 * readable with DescribeExecution and GetExecutionHistory.
 *
 * ARNs follow the forms AWS documents, with the Map state's label after the
 * state machine name:
 * - Map Run: `arn:aws:states:<region>:<account>:mapRun:<stateMachine>/<label>:<id>`
 * - child execution: `arn:aws:states:<region>:<account>:execution:<stateMachine>/<label>:<id>`
 * https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
 * https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html
 *
 * A redrive of the parent reruns the last Map Run of the same Map state. The
 * children that succeeded keep their output. The children that failed, timed
 * out or were aborted are redriven as RedriveExecution does it: same ARN, an
 * ExecutionRedriven event, and a restart at the state that failed.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../clock.ts";
import type { ExecutionRunner } from "./execution-runner.ts";
import type { ExecutionRecord, ExecutionStore } from "./execution-store.ts";
import type { Cancellation } from "./interpreter/cancellation.ts";
import type { ChildOutcome, MapRun, MapRunHost, MapRunRequest } from "./interpreter/types.ts";
import { MAX_REDRIVE_COUNT } from "./limits.ts";
import type { MapRunRecord, MapRunRegistry } from "./map-run-registry.ts";

/** Services and callbacks of a MapRunLauncher. */
export interface MapRunLauncherOptions {
  runner: ExecutionRunner;
  registry: MapRunRegistry;
  store: ExecutionStore;
  clock: Clock;
  logger: Logger;
  /** Makes a new child execution visible to DescribeExecution and ListExecutions. */
  registerExecution(record: ExecutionRecord): void;
}

/** Starts and redrives Map Runs for the executions the runner persists. */
export class MapRunLauncher implements MapRunHost {
  readonly #options: MapRunLauncherOptions;

  constructor(options: MapRunLauncherOptions) {
    this.#options = options;
  }

  async open(request: MapRunRequest): Promise<MapRun> {
    // The hold keeps a virtual clock from jumping over the disk writes.
    const release = this.#options.clock.hold();
    try {
      return await this.#open(request);
    } finally {
      release();
    }
  }

  async #open(request: MapRunRequest): Promise<MapRun> {
    const { registry, clock, logger } = this.#options;
    const previous = request.redrive
      ? registry.latestFor(request.executionArn, request.stateKey)
      : undefined;

    if (
      previous &&
      (previous.status === "FAILED" || previous.status === "ABORTED") &&
      previous.redriveCount < MAX_REDRIVE_COUNT
    ) {
      previous.status = "RUNNING";
      previous.redriveCount += 1;
      previous.redriveDate = clock.now();
      previous.stopDate = undefined;
      previous.resultsWritten = 0;
      await registry.save(previous);
      logger.info({ mapRunArn: previous.mapRunArn }, "map run redriven");
      return new OpenMapRun(this.#options, previous, request, true);
    }

    const { region, account, labelledName } = arnParts(request);
    const record: MapRunRecord = {
      mapRunArn: `arn:aws:states:${region}:${account}:mapRun:${labelledName}:${randomUUID()}`,
      executionArn: request.executionArn,
      stateMachineArn: request.stateMachineArn,
      stateKey: request.stateKey,
      status: "RUNNING",
      startDate: clock.now(),
      maxConcurrency: request.maxConcurrency,
      toleratedFailurePercentage: request.toleratedFailurePercentage,
      toleratedFailureCount: request.toleratedFailureCount,
      itemCount: request.itemCount,
      childCount: request.childCount,
      redriveCount: 0,
      resultsWritten: 0,
    };
    await registry.add(record);
    logger.debug({ mapRunArn: record.mapRunArn }, "map run started");
    return new OpenMapRun(this.#options, record, request, false);
  }
}

/** One attempt of a Map Run, from its start (or redrive) to its end. */
class OpenMapRun implements MapRun {
  readonly #options: MapRunLauncherOptions;
  readonly #record: MapRunRecord;
  readonly #request: MapRunRequest;
  readonly #redriven: boolean;
  readonly #definitionText: string;

  constructor(
    options: MapRunLauncherOptions,
    record: MapRunRecord,
    request: MapRunRequest,
    redriven: boolean,
  ) {
    this.#options = options;
    this.#record = record;
    this.#request = request;
    this.#redriven = redriven;
    this.#definitionText = JSON.stringify(request.definition);
  }

  get mapRunArn(): string {
    return this.#record.mapRunArn;
  }

  get redriveCount(): number {
    return this.#record.redriveCount;
  }

  previousOutput(index: number): { found: boolean; value?: unknown } {
    if (!this.#redriven) return { found: false };
    const child = this.#options.registry.child(this.mapRunArn, index);
    if (child?.status !== "SUCCEEDED") return { found: false };
    return { found: true, value: JSON.parse(child.output ?? "null") };
  }

  childArn(index: number): string | undefined {
    return this.#options.registry.child(this.mapRunArn, index)?.executionArn;
  }

  async runChild(
    index: number,
    input: unknown,
    itemCount: number,
    cancellation: Cancellation,
  ): Promise<ChildOutcome> {
    const { runner, registry, store, clock } = this.#options;
    if (cancellation.cancelled) return { status: "ABORTED" };

    // The child's first task holds the clock once it calls Lambda. Until then
    // this hold keeps a virtual clock from jumping over the disk I/O.
    const release = clock.hold();
    let child = this.#redriven ? registry.child(this.mapRunArn, index) : undefined;
    try {
      if (child && child.status !== "SUCCEEDED") {
        // A child that cannot be redriven keeps its last error for good.
        // https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html
        if (child.notRedrivableReason !== undefined || child.redriveCount >= MAX_REDRIVE_COUNT)
          return outcomeOf(child);
        await runner.relaunch(child, { caller: this.#request.caller });
      } else {
        child = this.#newChild(index, input, itemCount);
        this.#options.registerExecution(child);
        registry.addChild(child);
        await store.saveExecution(child);
        runner.launch(child, { persist: true, caller: this.#request.caller });
      }
    } finally {
      release();
    }

    const running = child;
    let stopping: Promise<void> | undefined;
    const removeListener = cancellation.onCancel(() => {
      stopping = runner.stop(running, undefined, undefined, true);
    });
    await runner.settled(running.executionArn);
    removeListener();
    if (stopping) {
      // Recording the abort writes to disk, during which a virtual clock must not jump.
      const releaseStop = clock.hold();
      await stopping.finally(releaseStop);
    }
    return outcomeOf(running);
  }

  async finish(status: "SUCCEEDED" | "FAILED" | "ABORTED", resultsWritten: number): Promise<void> {
    const { registry, clock, logger } = this.#options;
    this.#record.status = status;
    this.#record.stopDate = clock.now();
    this.#record.resultsWritten = resultsWritten;
    const release = clock.hold();
    try {
      await registry.save(this.#record);
    } finally {
      release();
    }
    logger.debug({ mapRunArn: this.mapRunArn, status }, "map run ended");
  }

  #newChild(index: number, input: unknown, itemCount: number): ExecutionRecord {
    const request = this.#request;
    const { region, account, labelledName } = arnParts(request);
    const name = randomUUID();
    return {
      executionArn: `arn:aws:states:${region}:${account}:execution:${labelledName}:${name}`,
      stateMachineArn: `arn:aws:states:${region}:${account}:stateMachine:${labelledName}`,
      name,
      // PARITY: children of an EXPRESS ItemProcessor also run as Standard
      // executions here, so they keep a history that DescribeExecution reads.
      type: "STANDARD",
      status: "RUNNING",
      startDate: this.#options.clock.now(),
      input: JSON.stringify(input) ?? "null",
      redriveCount: 0,
      definition: this.#definitionText,
      roleArn: request.roleArn,
      mapRunArn: this.mapRunArn,
      mapRunIndex: index,
      itemCount,
    };
  }
}

/**
 * Returns the region, account and `<stateMachine>/<label>` name of a Map
 * Run's ARNs. The state machine of a child execution is already labelled, so
 * a nested Map Run gets `<stateMachine>/<outer label>/<inner label>`.
 */
function arnParts(request: MapRunRequest): {
  region: string;
  account: string;
  labelledName: string;
} {
  const [, , , region, account] = request.executionArn.split(":");
  const marker = ":stateMachine:";
  const machineName = request.stateMachineArn.slice(
    request.stateMachineArn.indexOf(marker) + marker.length,
  );
  // NOTE: the nested form is the simulator's, because AWS documents only one level of labels.
  return { region, account, labelledName: `${machineName}/${request.label}` };
}

function outcomeOf(child: ExecutionRecord): ChildOutcome {
  if (child.status === "SUCCEEDED")
    return { status: "SUCCEEDED", output: JSON.parse(child.output ?? "null") };
  const status =
    child.status === "TIMED_OUT" || child.status === "ABORTED" ? child.status : "FAILED";
  return { status, error: child.error, cause: child.cause };
}
