/**
 * Retry and Catch around Task, Parallel and Map attempts.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 */
import type { Catcher } from "../asl/types.ts";
import { AbortedError, StatesError } from "../errors.ts";
import { applyResultPath } from "../paths/payload.ts";
import type { Engine, Outcome } from "./engine.ts";
import { findCatcher, findRetrier, retryDelayMs } from "./retry.ts";
import type { StateOutcome, StateRun } from "./types.ts";

/** Raised in TestState mode when a Retrier would retry the error. */
export class RetriableError extends Error {
  constructor(readonly error: StatesError) {
    super(error.message);
    this.name = "RetriableError";
  }
}

/** Raised in TestState mode when a Catcher handled the error. */
export class CaughtError extends Error {
  constructor(
    readonly error: StatesError,
    readonly outcome: StateOutcome,
  ) {
    super(error.message);
    this.name = "CaughtError";
  }
}

/** Runs `attempt` under the state's Retry and Catch fields. */
export async function withErrorHandling(
  engine: Engine,
  run: StateRun,
  attempt: () => Promise<Outcome>,
): Promise<Outcome> {
  const { state } = run;
  const retriers = state.Retry ?? [];
  const attempts = new Array<number>(retriers.length).fill(0);

  for (;;) {
    try {
      return await attempt();
    } catch (thrown) {
      // runState records the <Type>StateAborted event of an aborted attempt,
      // so it is passed on untouched here to keep that event single.
      if (thrown instanceof AbortedError) throw thrown;
      const error = engine.locate(thrown, run);
      if (!(error instanceof StatesError)) throw error;

      const retrierIndex = findRetrier(retriers, error.name);
      if (retrierIndex >= 0) {
        const retrier = retriers[retrierIndex];
        if (attempts[retrierIndex] < (retrier.MaxAttempts ?? 3)) {
          if (engine.singleStep) throw new RetriableError(error);
          const delay = retryDelayMs(retrier, attempts[retrierIndex]);
          attempts[retrierIndex]++;
          run.retryCount++;
          engine.logger.debug({ state: run.name, error: error.name, delay }, "retrying state");
          await run.frame.cancellation.sleep(engine.clock, delay);
          continue;
        }
      }

      const catcher = findCatcher(state.Catch ?? [], error.name);
      if (!catcher) throw error;
      const outcome = await catchError(run, catcher, error, engine);
      if (engine.singleStep) throw new CaughtError(error, outcome);
      return outcome;
    }
  }
}

/** Builds the output of a caught error: the error output placed by ResultPath, or the JSONata Output. */
async function catchError(
  run: StateRun,
  catcher: Catcher,
  error: StatesError,
  engine: Engine,
): Promise<Outcome> {
  const errorOutput: Record<string, unknown> = { Error: error.name };
  if (error.causeText !== undefined) errorOutput.Cause = error.causeText;

  if (run.language === "JSONata") {
    const assigned = catcher.Assign
      ? ((await engine.evaluate(run, catcher.Assign, { errorOutput })) as Record<string, unknown>)
      : undefined;
    const output =
      catcher.Output !== undefined
        ? await engine.evaluate(run, catcher.Output, { errorOutput })
        : errorOutput;
    if (assigned) Object.assign(run.frame.variables, assigned);
    return { output, next: catcher.Next, assigned };
  }
  return {
    output: applyResultPath(catcher.ResultPath, run.rawInput, errorOutput),
    next: catcher.Next,
  };
}
