/**
 * Runs executions: starts the engine on a record, applies the state
 * machine's TimeoutSeconds, records the terminal event and status, and
 * handles StopExecution and RedriveExecution of running or failed runs.
 */
import type { Logger } from "pino";
import type { Clock, ClockTimer } from "../clock.ts";
import type { StateMachineDefinition } from "./asl/types.ts";
import { AbortedError, StatesError } from "./errors.ts";
import { isClosed, moveStatus } from "./execution-status.ts";
import type { ExecutionRecord, ExecutionStore } from "./execution-store.ts";
import { HistoryRecorder, NOT_TRUNCATED } from "./history.ts";
import { MAX_TIMER_MS } from "./interpreter/cancellation.ts";
import { Engine } from "./interpreter/engine.ts";
import type { TaskTokenRegistry } from "./interpreter/task-tokens.ts";
import type { ExecutionCaller, MapRunHost, ObjectStore } from "./interpreter/types.ts";
import type { LambdaInvoker } from "./lambda-invoker.ts";

/** The services an execution reaches while it runs. */
export interface RunnerServices {
  clock: Clock;
  logger: Logger;
  invoker: LambdaInvoker;
  s3?: ObjectStore;
  tokens: TaskTokenRegistry;
  region: string;
  store?: ExecutionStore;
}

interface LiveExecution {
  engine: Engine;
  history: HistoryRecorder;
  timer?: ClockTimer;
  stopped: boolean;
  timedOut: boolean;
  done: Promise<void>;
}

/** Histories up to this many events stay in memory after their execution ends. */
const RECENT_HISTORY_MAX_EVENTS = 1_000;

/** Starts, stops and redrives executions and keeps their histories. */
export class ExecutionRunner {
  /** Starter of the Map Runs of Distributed Map states in stored executions, set by the service. */
  mapRunHost: MapRunHost | undefined;
  readonly #services: RunnerServices;
  readonly #live = new Map<string, LiveExecution>();
  // Histories of recently finished executions, so GetExecutionHistory
  // right after an execution ends does not read the disk.
  readonly #recent = new Map<string, HistoryRecorder>();

  constructor(services: RunnerServices) {
    this.#services = services;
  }

  /** Returns the in-memory history of a running or recently finished execution. */
  history(executionArn: string): HistoryRecorder | undefined {
    return this.#live.get(executionArn)?.history ?? this.#recent.get(executionArn);
  }

  /** Resolves when the execution is no longer running. */
  async settled(executionArn: string): Promise<void> {
    await this.#live.get(executionArn)?.done;
  }

  /**
   * Starts `record`, which is new, or redriven when `history` contains its
   * earlier events. Returns at once, and the execution runs in the background.
   */
  launch(
    record: ExecutionRecord,
    options: { persist: boolean; history?: HistoryRecorder; caller?: ExecutionCaller },
  ): void {
    const { clock, store } = this.#services;
    const persist = options.persist && store !== undefined;
    const history =
      options.history ??
      new HistoryRecorder({
        now: () => clock.now(),
        onAppend: persist ? (event) => store.appendEvent(record.executionArn, event) : undefined,
      });
    const definition = JSON.parse(record.definition) as StateMachineDefinition;
    const redrive = record.redriveCount > 0 && options.history !== undefined;
    const input = JSON.parse(record.input);

    const engine = this.#engine(record, definition, history, {
      caller: options.caller,
      mapRuns: persist ? this.mapRunHost : undefined,
    });
    let previousEventId: number;
    if (redrive) {
      previousEventId = history.add(
        "ExecutionRedriven",
        history.lastEventId,
        "executionRedrivenEventDetails",
        { redriveCount: record.redriveCount },
      );
    } else {
      previousEventId = history.add("ExecutionStarted", 0, "executionStartedEventDetails", {
        input: record.input,
        inputDetails: NOT_TRUNCATED,
        roleArn: record.roleArn,
      });
    }

    const frame = engine.topFrame(previousEventId);
    const restart = redrive ? record.restartPoint : undefined;
    if (restart?.visit) frame.visits.set(restart.stateName, restart.visit - 1);
    const live: LiveExecution = {
      engine,
      history,
      stopped: false,
      timedOut: false,
      done: Promise.resolve(),
    };
    if (definition.TimeoutSeconds !== undefined) {
      live.timer = clock.setTimeout(
        () => {
          live.timedOut = true;
          engine.cancellation.cancel();
        },
        Math.min(definition.TimeoutSeconds * 1000, MAX_TIMER_MS),
      );
    }
    this.#live.set(record.executionArn, live);

    const run = restart
      ? engine.runFrame(frame, restart.input, restart.stateName)
      : engine.runFrame(frame, input);
    live.done = run.then(
      (output) => this.#finish(record, live, persist, { output }),
      (error) => this.#finish(record, live, persist, { error }),
    );
  }

  /**
   * RedriveExecution of a stored execution that ended unsuccessfully: moves
   * it back to RUNNING, counts the redrive and runs it again from its restart
   * point, appending to its history. The caller checks that it is redrivable.
   */
  async relaunch(
    record: ExecutionRecord,
    options: { caller?: ExecutionCaller } = {},
  ): Promise<void> {
    const { clock, store } = this.#services;
    const events =
      this.history(record.executionArn)?.events ??
      (await store?.readHistory(record.executionArn)) ??
      [];
    const history = new HistoryRecorder({
      now: () => clock.now(),
      events: [...events],
      onAppend: store ? (event) => store.appendEvent(record.executionArn, event) : undefined,
    });
    record.status = moveStatus(record.status, "RUNNING");
    record.redriveCount += 1;
    record.redriveDate = clock.now();
    record.stopDate = undefined;
    record.error = undefined;
    record.cause = undefined;
    await store?.saveExecution(record);
    this.launch(record, { persist: true, history, caller: options.caller });
  }

  /** Runs an execution to its end without storing it (Express workflows). */
  async runToEnd(record: ExecutionRecord): Promise<ExecutionRecord> {
    this.launch(record, { persist: false });
    await this.settled(record.executionArn);
    this.#recent.delete(record.executionArn);
    return record;
  }

  /**
   * StopExecution of a running execution: cancels its work, lets the running
   * states record their aborted events, then records ExecutionAborted.
   */
  async stop(
    record: ExecutionRecord,
    error: string | undefined,
    cause: string | undefined,
    persist: boolean,
  ): Promise<void> {
    const live = this.#live.get(record.executionArn);
    if (!live || live.stopped) return;
    live.stopped = true;
    live.engine.cancellation.cancel();
    this.#services.clock.clearTimeout(live.timer);
    await live.done;

    const details: Record<string, string> = {};
    if (error !== undefined) details.error = error;
    if (cause !== undefined) details.cause = cause;
    live.history.add(
      "ExecutionAborted",
      live.history.lastEventId,
      "executionAbortedEventDetails",
      details,
    );
    record.status = moveStatus(record.status, "ABORTED");
    record.stopDate = this.#services.clock.now();
    record.error = error;
    record.cause = cause;
    this.#keepForRedrive(record, live);
    if (persist) {
      await this.#services.store?.saveExecution(record);
      await this.#services.store?.flush();
      await this.#services.store?.closeHistory(record.executionArn);
    }
  }

  /** Cancels every running execution without recording anything (service shutdown). */
  closeAll(): void {
    for (const live of this.#live.values()) {
      live.stopped = true;
      live.history.closed = true;
      this.#services.clock.clearTimeout(live.timer);
      live.engine.cancellation.cancel();
    }
  }

  #engine(
    record: ExecutionRecord,
    definition: StateMachineDefinition,
    history: HistoryRecorder,
    options: { caller?: ExecutionCaller; mapRuns?: MapRunHost },
  ): Engine {
    const { clock, logger, invoker, s3, tokens, region } = this.#services;
    const machineName = record.stateMachineArn.split(":").pop() as string;
    return new Engine({
      clock,
      logger: logger.child({ executionArn: record.executionArn }),
      invoker,
      s3,
      tokens,
      region,
      history,
      definition,
      memo: new Map(record.memo ?? []),
      mapRuns: options.mapRuns,
      identity: {
        executionArn: record.executionArn,
        name: record.name,
        stateMachineArn: record.stateMachineArn,
        stateMachineName: machineName,
        roleArn: record.roleArn,
        startTime: record.startDate,
        input: JSON.parse(record.input),
        redriveCount: record.redriveCount,
        redriveTime: record.redriveDate,
        caller: options.caller,
      },
    });
  }

  async #finish(
    record: ExecutionRecord,
    live: LiveExecution,
    persist: boolean,
    result: { output?: unknown; error?: unknown },
  ): Promise<void> {
    const { clock, logger, store } = this.#services;
    clock.clearTimeout(live.timer);
    this.#live.delete(record.executionArn);
    this.#remember(record.executionArn, live.history);
    if (live.stopped) {
      if (persist) await store?.flush();
      return;
    }

    const previous = live.history.lastEventId;
    if ("output" in result && result.error === undefined) {
      const output = JSON.stringify(result.output) ?? "null";
      live.history.add("ExecutionSucceeded", previous, "executionSucceededEventDetails", {
        output,
        outputDetails: NOT_TRUNCATED,
      });
      record.status = moveStatus(record.status, "SUCCEEDED");
      record.output = output;
      record.restartPoint = undefined;
      record.memo = undefined;
    } else if (live.timedOut) {
      live.history.add("ExecutionTimedOut", previous, "executionTimedOutEventDetails", {
        error: "States.Timeout",
      });
      record.status = moveStatus(record.status, "TIMED_OUT");
      record.error = "States.Timeout";
      record.cause = undefined;
      this.#keepForRedrive(record, live);
    } else {
      let error = result.error;
      if (!(error instanceof StatesError)) {
        if (!(error instanceof AbortedError))
          logger.error(
            { err: error, executionArn: record.executionArn },
            "execution failed unexpectedly",
          );
        error = new StatesError(
          "States.Runtime",
          `Internal error of the simulator: ${(error as Error)?.message}`,
        );
      }
      const failure = error as StatesError;
      const details: Record<string, string> = {};
      if (failure.name !== "") details.error = failure.name;
      if (failure.causeText !== undefined) details.cause = failure.causeText;
      live.history.add("ExecutionFailed", previous, "executionFailedEventDetails", details);
      record.status = moveStatus(record.status, "FAILED");
      record.error = details.error;
      record.cause = details.cause;
      this.#keepForRedrive(record, live);
    }
    record.stopDate = clock.now();
    logger.debug({ executionArn: record.executionArn, status: record.status }, "execution ended");
    if (persist && store) {
      // A Map Run waits for its child's end, so a virtual clock must not jump
      // over these disk writes while the Map Run is still busy.
      const release = record.mapRunArn === undefined ? undefined : clock.hold();
      try {
        await store.saveExecution(record);
        await store.flush();
        await store.closeHistory(record.executionArn);
      } finally {
        release?.();
      }
    }
  }

  #keepForRedrive(record: ExecutionRecord, live: LiveExecution): void {
    const point = live.engine.restartPoint;
    record.restartPoint = point;
    record.memo = [...live.engine.memo.entries()];
    record.notRedrivableReason = live.history.limitReached
      ? "Execution reached the maximum number of history events"
      : undefined;
  }

  #remember(executionArn: string, history: HistoryRecorder): void {
    // Long histories are read back from disk instead: keeping many of them
    // would make every garbage collection walk them.
    if (history.events.length > RECENT_HISTORY_MAX_EVENTS) return;
    this.#recent.set(executionArn, history);
    while (this.#recent.size > 20) this.#recent.delete(this.#recent.keys().next().value as string);
  }
}

export { isClosed };
