/**
 * The interpreter: runs frames of states, records their history events and
 * applies input/output processing, Retry and Catch the way Step Functions does.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-states.html
 */
import type { Logger } from "pino";
import type { Clock } from "../../clock.ts";
import type { QueryLanguage, StateDefinition, StateMachineDefinition } from "../asl/types.ts";
import { AbortedError, StatesError } from "../errors.ts";
import { type HistoryRecorder, NOT_TRUNCATED } from "../history.ts";
import type { LambdaInvoker } from "../lambda-invoker.ts";
import { MAX_PAYLOAD_BYTES } from "../limits.ts";
import { evaluateTemplate } from "../paths/jsonata.ts";
import { applyResultPath, buildPayload, type DataScope, selectPath } from "../paths/payload.ts";
import { Cancellation } from "./cancellation.ts";
import { CaughtError, RetriableError, withErrorHandling } from "./error-handling.ts";
import { runChoice, runFail, runPass, runWait } from "./flow-states.ts";
import { runMap } from "./map.ts";
import { runParallel } from "./parallel.ts";
import { runTask } from "./task.ts";
import type { TaskTokenRegistry } from "./task-tokens.ts";
import type {
  ExecutionCaller,
  Frame,
  MapRunHost,
  ObjectStore,
  StateOutcome,
  StateRun,
} from "./types.ts";

/** The execution an engine runs, as `$$.Execution` and `$$.StateMachine` show it. */
export interface ExecutionIdentity {
  executionArn: string;
  name: string;
  stateMachineArn: string;
  stateMachineName: string;
  roleArn: string;
  startTime: number;
  input: unknown;
  redriveCount: number;
  redriveTime?: number;
  /**
   * The top-level execution that Lambda invocations name as their caller. A
   * child execution of a Map Run names its root execution, because the
   * replay report matches invocations to the executions it started.
   */
  caller?: ExecutionCaller;
}

/** Options of an engine. */
export interface EngineOptions {
  clock: Clock;
  logger: Logger;
  invoker: LambdaInvoker;
  s3?: ObjectStore;
  tokens: TaskTokenRegistry;
  region: string;
  history: HistoryRecorder;
  identity: ExecutionIdentity;
  definition: StateMachineDefinition;
  /** Outputs of Map iterations and Parallel branches that succeeded before this redrive. */
  memo: Map<string, unknown>;
  /** TestState mode: run one state once, report retries instead of waiting for them. */
  singleStep?: boolean;
  /**
   * Starts Map Runs with child executions. Without it (TestState, Express
   * executions) a Distributed Map runs its iterations inside this execution.
   */
  mapRuns?: MapRunHost;
}

/** Restart point of a redrive: the top-level state that failed and its input. */
export interface RestartPoint {
  stateName: string;
  input: unknown;
  /** How many times the state had been entered, counting this entry. */
  visit: number;
}

/** Outcome of a state with the variables its Assign field set. */
export type Outcome = StateOutcome & { assigned?: Record<string, unknown> };

/** Data scope of one state whose context object is built on first use, since most paths never read `$$`. */
class StateScope implements DataScope {
  readonly input: unknown;
  readonly variables: Record<string, unknown>;
  readonly #engine: Engine;
  readonly #run: StateRun;
  readonly #token: string | undefined;
  #context: Record<string, unknown> | undefined;

  constructor(engine: Engine, run: StateRun, input: unknown, token: string | undefined) {
    this.#engine = engine;
    this.#run = run;
    this.#token = token;
    this.input = input;
    this.variables = run.frame.variables;
  }

  get context(): Record<string, unknown> {
    this.#context ??= this.#engine.context(this.#run, this.#token);
    return this.#context;
  }
}

const NOT_REUSED = Object.freeze({ found: false });

// Event types that exist for a state being aborted.
const ABORTED_EVENTS: Record<string, string> = {
  Task: "TaskStateAborted",
  Wait: "WaitStateAborted",
  Map: "MapStateAborted",
  Parallel: "ParallelStateAborted",
};

// Transitions run synchronously in a row before the engine yields to the event loop.
const TRANSITIONS_PER_YIELD = 500;

export class Engine {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly invoker: LambdaInvoker;
  readonly s3: ObjectStore | undefined;
  readonly tokens: TaskTokenRegistry;
  readonly region: string;
  readonly history: HistoryRecorder;
  readonly identity: ExecutionIdentity;
  readonly definition: StateMachineDefinition;
  /** Outputs of Map iterations and Parallel branches that succeeded in this run or were reused from the last one. */
  readonly memo = new Map<string, unknown>();
  readonly #previousResults: Map<string, unknown>;
  readonly singleStep: boolean;
  readonly mapRuns: MapRunHost | undefined;
  readonly cancellation = new Cancellation();
  /** The top-level state running now, where a redrive would restart. */
  restartPoint: RestartPoint | undefined;
  #executionContext: Record<string, unknown>;
  #stateMachineContext: Record<string, unknown>;
  #transitions = 0;

  constructor(options: EngineOptions) {
    this.clock = options.clock;
    this.logger = options.logger;
    this.invoker = options.invoker;
    this.s3 = options.s3;
    this.tokens = options.tokens;
    this.region = options.region;
    this.history = options.history;
    this.identity = options.identity;
    this.definition = options.definition;
    this.#previousResults = options.memo;
    this.singleStep = options.singleStep ?? false;
    this.mapRuns = options.mapRuns;

    const identity = options.identity;
    this.#executionContext = {
      Id: identity.executionArn,
      Input: identity.input,
      Name: identity.name,
      RoleArn: identity.roleArn,
      StartTime: new Date(identity.startTime).toISOString(),
      RedriveCount: identity.redriveCount,
    };
    if (identity.redriveTime !== undefined) {
      this.#executionContext.RedriveTime = new Date(identity.redriveTime).toISOString();
    }
    this.#stateMachineContext = { Id: identity.stateMachineArn, Name: identity.stateMachineName };
  }

  /** Returns the execution attempt that Lambda invocations of this engine name as their caller. */
  caller(): ExecutionCaller {
    const { identity } = this;
    return (
      identity.caller ?? {
        executionArn: identity.executionArn,
        redriveCount: identity.redriveCount,
      }
    );
  }

  /** Creates the execution's own frame. */
  topFrame(previousEventId: number): Frame {
    return {
      states: this.definition.States,
      startAt: this.definition.StartAt,
      language: this.definition.QueryLanguage ?? "JSONPath",
      variables: {},
      previousEventId,
      memoKey: "",
      visits: new Map(),
      cancellation: this.cancellation,
      topLevel: true,
    };
  }

  /** Creates the frame of a Parallel branch or a Map iteration. */
  childFrame(
    parent: Frame,
    machine: StateMachineDefinition,
    options: {
      memoKey: string;
      cancellation: Cancellation;
      previousEventId: number;
      mapItem?: Frame["mapItem"];
    },
  ): Frame {
    return {
      states: machine.States,
      startAt: machine.StartAt,
      language: machine.QueryLanguage ?? parent.language,
      variables: { ...parent.variables },
      previousEventId: options.previousEventId,
      memoKey: options.memoKey,
      visits: new Map(),
      cancellation: options.cancellation,
      mapItem: options.mapItem,
      topLevel: false,
    };
  }

  /** Runs states from `startAt` until one ends the frame; returns the frame's output. */
  async runFrame(frame: Frame, input: unknown, startAt = frame.startAt): Promise<unknown> {
    let name: string | undefined = startAt;
    let value = input;
    while (name !== undefined) {
      frame.cancellation.throwIfCancelled();
      if (frame.topLevel)
        this.restartPoint = {
          stateName: name,
          input: value,
          visit: (frame.visits.get(name) ?? 0) + 1,
        };
      let outcome = this.runState(frame, name, value);
      if (outcome instanceof Promise) outcome = await outcome;
      value = outcome.output;
      name = outcome.next;

      // Let API requests and timers in between long runs of instant states.
      if (++this.#transitions % TRANSITIONS_PER_YIELD === 0)
        await new Promise((resolve) => setImmediate(resolve));
    }
    return value;
  }

  /**
   * Returns the output a Map iteration or Parallel branch had when it
   * succeeded before the redrive, so only failed work runs again. Each output
   * is reused once: a Retry of the same state runs every iteration again.
   */
  reuseResult(key: string): { found: boolean; value?: unknown } {
    if (this.#previousResults.size === 0 || !this.#previousResults.has(key)) return NOT_REUSED;
    const value = this.#previousResults.get(key);
    this.#previousResults.delete(key);
    this.memo.set(key, value);
    return { found: true, value };
  }

  /** Records an event in `frame`'s chain and returns its id. */
  addEvent(
    frame: Frame,
    type: string,
    detailsKey?: string,
    details?: Record<string, unknown>,
  ): number {
    if (frame.silent) return frame.previousEventId;
    const id = this.history.add(type, frame.previousEventId, detailsKey, details);
    frame.previousEventId = id;
    return id;
  }

  /** JSON text of `value`, reusing the frame's last encoding of the same value. */
  encode(frame: Frame, value: unknown): string {
    if (frame.lastText && frame.lastText.value === value) return frame.lastText.text;
    const text = JSON.stringify(value) ?? "null";
    frame.lastText = { value, text };
    return text;
  }

  /** Builds the context object (`$$`) of one state. */
  context(run: StateRun, token?: string): Record<string, unknown> {
    const context: Record<string, unknown> = {
      Execution: this.#executionContext,
      State: {
        EnteredTime: new Date(run.enteredTime).toISOString(),
        Name: run.name,
        RetryCount: run.retryCount,
      },
      StateMachine: this.#stateMachineContext,
    };
    // `$$.Map.Item` exists only while ItemSelector is built (see map.ts), so
    // states inside an iteration do not see it.
    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemselector.html
    if (token !== undefined) context.Task = { Token: token };
    return context;
  }

  /** Builds the data scope of JSONPath fields of `run`, with `input` as `$`. */
  scope(run: StateRun, input: unknown, token?: string): DataScope {
    return new StateScope(this, run, input, token);
  }

  /**
   * Runs one state and records its entered and exited events. Pass, Choice
   * and Succeed states of JSONPath machines complete synchronously, so long
   * loops of them allocate no promises.
   */
  runState(frame: Frame, name: string, input: unknown): Outcome | Promise<Outcome> {
    const state = frame.states[name];
    const language: QueryLanguage = state.QueryLanguage ?? frame.language;
    const inputText = this.encode(frame, input);
    const enteredEventId = this.addEvent(
      frame,
      `${state.Type}StateEntered`,
      "stateEnteredEventDetails",
      {
        name,
        input: inputText,
        inputDetails: NOT_TRUNCATED,
      },
    );
    frame.visits.set(name, (frame.visits.get(name) ?? 0) + 1);
    const run: StateRun = {
      frame,
      name,
      state,
      language,
      rawInput: input,
      enteredEventId,
      enteredTime: this.clock.now(),
      retryCount: 0,
    };

    let result: Outcome | Promise<Outcome>;
    try {
      result = this.#dispatch(run);
    } catch (error) {
      throw this.locate(error, run);
    }
    if (result instanceof Promise) {
      return result.then(
        (outcome) => this.#exit(run, outcome),
        (error) => {
          throw this.locate(error, run);
        },
      );
    }
    return this.#exit(run, result);
  }

  #exit(run: StateRun, outcome: Outcome): Outcome {
    const { frame, name, state } = run;
    if (state.Type === "Fail") return outcome;

    const outputText = this.encode(frame, outcome.output);
    this.checkSize(name, outputText);
    const exited: Record<string, unknown> = {
      name,
      output: outputText,
      outputDetails: NOT_TRUNCATED,
    };
    if (outcome.assigned) {
      exited.assignedVariables = Object.fromEntries(
        Object.entries(outcome.assigned).map(([key, value]) => [key, JSON.stringify(value)]),
      );
      exited.assignedVariablesDetails = NOT_TRUNCATED;
    }
    this.addEvent(frame, `${state.Type}StateExited`, "stateExitedEventDetails", exited);
    return outcome;
  }

  #dispatch(run: StateRun): Outcome | Promise<Outcome> {
    switch (run.state.Type) {
      case "Pass":
        return runPass(this, run);
      case "Choice":
        return runChoice(this, run);
      case "Wait":
        return runWait(this, run);
      case "Succeed": {
        const input =
          run.language === "JSONPath"
            ? selectPath(run.state.InputPath, run.rawInput, this.scope(run, undefined))
            : run.rawInput;
        return this.finish(run, input, undefined, undefined);
      }
      case "Fail":
        return runFail(this, run);
      case "Task":
        return this.#handled(run, () => runTask(this, run));
      case "Parallel":
        return this.#handled(run, () => runParallel(this, run));
      case "Map":
        return this.#handled(run, () => runMap(this, run));
    }
  }

  // States without Retry or Catch skip the handler; runState still locates their errors.
  #handled(run: StateRun, attempt: () => Promise<Outcome>): Promise<Outcome> {
    if (run.state.Retry === undefined && run.state.Catch === undefined) return attempt();
    return withErrorHandling(this, run, attempt);
  }

  /** Adds AWS's location prefix to runtime errors and records aborted states; returns the error to raise. */
  locate(error: unknown, run: StateRun): unknown {
    if (error instanceof RetriableError || error instanceof CaughtError) return error;
    if (error instanceof AbortedError) {
      const aborted = ABORTED_EVENTS[run.state.Type];
      if (aborted && !this.history.limitReached) {
        try {
          this.addEvent(run.frame, aborted);
        } catch {
          // The history cap was reached while aborting: the failure is recorded already.
        }
      }
      return error;
    }
    if (!(error instanceof StatesError)) {
      this.logger.error({ err: error, state: run.name }, "state raised an unexpected error");
      const wrapped = new StatesError(
        "States.Runtime",
        `Internal error of the simulator: ${(error as Error)?.message ?? String(error)}`,
      );
      return this.locate(wrapped, run);
    }
    if (
      !error.located &&
      (error.name === "States.Runtime" || error.name === "States.QueryEvaluationError")
    ) {
      error.causeText =
        `An error occurred while executing the state '${run.name}' (entered at the event id #${run.enteredEventId}). ${error.causeText ?? ""}`.trimEnd();
      error.located = true;
    }
    return error;
  }

  /** Raises States.DataLimitExceeded when `text` is over 256 KiB of UTF-8. */
  checkSize(name: string, text: string): void {
    if (text.length * 3 <= MAX_PAYLOAD_BYTES) return;
    if (Buffer.byteLength(text, "utf8") <= MAX_PAYLOAD_BYTES) return;
    const error = new StatesError(
      "States.DataLimitExceeded",
      `The state/task '${name}' returned a result with a size exceeding the maximum number of bytes service limit.`,
    );
    error.located = true;
    throw error;
  }

  /**
   * Computes the input a state works on: InputPath then Parameters for
   * JSONPath, or Arguments for JSONata (both optional).
   */
  async effectiveInput(run: StateRun, token?: string): Promise<unknown> {
    const { state } = run;
    if (run.language === "JSONata") {
      if (state.Arguments === undefined) return run.rawInput;
      return this.evaluate(run, state.Arguments, {}, token);
    }
    return this.effectiveJsonPathInput(run, token);
  }

  effectiveJsonPathInput(run: StateRun, token?: string): unknown {
    const { state } = run;
    const selected =
      state.InputPath === undefined
        ? run.rawInput
        : selectPath(state.InputPath, run.rawInput, this.scope(run, undefined, token));
    if (state.Parameters === undefined) return selected;
    const payload = buildPayload(state.Parameters, this.scope(run, selected, token));
    this.checkSize(run.name, JSON.stringify(payload) ?? "null");
    return payload;
  }

  /** Evaluates a JSONata template of `run` with `$states` bound. */
  evaluate(
    run: StateRun,
    template: unknown,
    extra: { result?: unknown; errorOutput?: unknown },
    token?: string,
  ): Promise<unknown> {
    return evaluateTemplate(
      template,
      { input: run.rawInput, context: this.context(run, token), ...extra },
      run.frame.variables,
    );
  }

  /**
   * Turns a state's result into its output (ResultSelector, ResultPath,
   * OutputPath, or JSONata Output) and applies Assign.
   */
  finish(
    run: StateRun,
    result: unknown,
    selectorTemplate: unknown,
    resultPath: string | null | undefined,
    output?: unknown,
  ): Outcome | Promise<Outcome> {
    if (run.language === "JSONata") return this.#finishJsonata(run, result, output);
    return this.finishJsonPath(run, result, selectorTemplate, resultPath);
  }

  async #finishJsonata(run: StateRun, result: unknown, output: unknown): Promise<Outcome> {
    const { state } = run;
    const next = state.End ? undefined : state.Next;
    const assigned = state.Assign
      ? ((await this.evaluate(run, state.Assign, { result })) as Record<string, unknown>)
      : undefined;
    const value =
      (output ?? state.Output) !== undefined
        ? await this.evaluate(run, output ?? state.Output, { result })
        : result;
    if (assigned) Object.assign(run.frame.variables, assigned);
    return { output: value, next, assigned };
  }

  finishJsonPath(
    run: StateRun,
    result: unknown,
    selectorTemplate: unknown,
    resultPath: string | null | undefined,
  ): Outcome {
    const { state } = run;
    const next = state.End ? undefined : state.Next;
    let selected = result;
    if (selectorTemplate !== undefined)
      selected = buildPayload(selectorTemplate, this.scope(run, result));
    // NOTE: `$` in a JSONPath Assign is the result after ResultSelector, or the
    // effective input for states without a result. This order is unchecked against AWS.
    let assigned: Record<string, unknown> | undefined;
    if (state.Assign)
      assigned = buildPayload(state.Assign, this.scope(run, selected)) as Record<string, unknown>;
    const merged =
      state.Type === "Succeed" || state.Type === "Choice" || state.Type === "Wait"
        ? selected
        : applyResultPath(resultPath, run.rawInput, selected);
    const value =
      state.OutputPath === undefined
        ? merged
        : selectPath(state.OutputPath, merged, this.scope(run, undefined));
    if (assigned) Object.assign(run.frame.variables, assigned);
    return { output: value, next, assigned };
  }
}

export type { StateDefinition };
export { CaughtError, RetriableError };
