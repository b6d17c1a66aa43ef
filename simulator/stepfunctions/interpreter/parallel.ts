/**
 * Parallel states. Every branch runs on the same effective input, and the
 * result is the array of branch outputs. The first failing branch fails the
 * state with its error, after the other branches are aborted.
 * https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html
 */
import { AbortedError } from "../errors.ts";
import type { Engine } from "./engine.ts";
import type { StateOutcome, StateRun } from "./types.ts";

/** Runs one attempt of a Parallel state. */
export async function runParallel(engine: Engine, run: StateRun): Promise<StateOutcome> {
  const { frame, name, state } = run;
  const input = await engine.effectiveInput(run);
  const branches = state.Branches ?? [];
  const startedId = engine.addEvent(frame, "ParallelStateStarted");
  const scope = frame.cancellation.child();
  const baseKey = `${frame.memoKey}/${name}#${frame.visits.get(name) ?? 1}`;
  const results = new Array<unknown>(branches.length);
  let firstError: unknown;

  await Promise.all(
    branches.map(async (branch, index) => {
      const key = `${baseKey}[${index}]`;
      const reused = engine.reuseResult(key);
      if (reused.found) {
        results[index] = reused.value;
        return;
      }
      const child = engine.childFrame(frame, branch, {
        memoKey: key,
        cancellation: scope,
        previousEventId: startedId,
      });
      child.silent = frame.silent;
      try {
        results[index] = await engine.runFrame(child, input);
        engine.memo.set(key, results[index]);
      } catch (error) {
        if (firstError === undefined && !(error instanceof AbortedError)) {
          firstError = error;
          scope.cancel();
        }
      }
    }),
  );

  frame.previousEventId = engine.history.lastEventId;
  frame.cancellation.throwIfCancelled();
  if (firstError !== undefined) {
    engine.addEvent(frame, "ParallelStateFailed");
    throw firstError;
  }
  engine.addEvent(frame, "ParallelStateSucceeded");
  return engine.finish(run, results, state.ResultSelector, state.ResultPath);
}
