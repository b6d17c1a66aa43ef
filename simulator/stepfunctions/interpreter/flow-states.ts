/**
 * Flow states: Pass, Choice, Wait and Fail (Succeed is in the engine).
 * JSONPath Pass and Choice states complete synchronously.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-states.html
 */
import { evaluateChoiceRule, parseTimestamp } from "../asl/choice.ts";
import { StatesError } from "../errors.ts";
import { evaluateIntrinsic, isIntrinsic } from "../paths/intrinsics.ts";
import { evaluateJsonata, isJsonataExpression } from "../paths/jsonata.ts";
import { type DataScope, resolvePath, selectPath } from "../paths/payload.ts";
import type { Engine, Outcome } from "./engine.ts";
import type { StateRun } from "./types.ts";

export function runPass(engine: Engine, run: StateRun): Outcome | Promise<Outcome> {
  if (run.language === "JSONata") return engine.finish(run, run.rawInput, undefined, undefined);
  const { state } = run;
  const result = "Result" in state ? state.Result : engine.effectiveJsonPathInput(run);
  return engine.finishJsonPath(run, result, undefined, state.ResultPath);
}

export function runChoice(engine: Engine, run: StateRun): Outcome | Promise<Outcome> {
  if (run.language === "JSONata") return choiceJsonata(engine, run);
  const { state } = run;
  const scope = engine.scope(
    run,
    selectPath(state.InputPath, run.rawInput, engine.scope(run, undefined)),
  );
  const match = (state.Choices ?? []).find((rule) => evaluateChoiceRule(rule, scope));
  const next = match?.Next ?? state.Default;
  if (next === undefined) throw noChoiceMatched();
  return { ...engine.finishJsonPath(run, scope.input, undefined, undefined), next };
}

async function choiceJsonata(engine: Engine, run: StateRun): Promise<Outcome> {
  const { state } = run;
  const choices = state.Choices ?? [];
  {
    for (const rule of choices) {
      const condition = isJsonataExpression(rule.Condition)
        ? await evaluateJsonata(
            rule.Condition,
            { input: run.rawInput, context: engine.context(run) },
            run.frame.variables,
          )
        : rule.Condition;
      if (typeof condition !== "boolean") {
        throw new StatesError(
          "States.QueryEvaluationError",
          `The Condition of a Choice rule returned ${JSON.stringify(condition)}, which is not a boolean`,
        );
      }
      if (condition) {
        const outcome = await engine.finish(
          { ...run, state: { ...state, Assign: rule.Assign ?? state.Assign } },
          run.rawInput,
          undefined,
          undefined,
          rule.Output,
        );
        return { ...outcome, next: rule.Next };
      }
    }
    if (state.Default === undefined) throw noChoiceMatched();
    const outcome = await engine.finish(run, run.rawInput, undefined, undefined);
    return { ...outcome, next: state.Default };
  }
}

export async function runWait(engine: Engine, run: StateRun): Promise<Outcome> {
  const { state } = run;
  let until: number;
  if (run.language === "JSONata") {
    const seconds = isJsonataExpression(state.Seconds)
      ? await engine.evaluate(run, state.Seconds, {})
      : state.Seconds;
    const timestamp = isJsonataExpression(state.Timestamp)
      ? await engine.evaluate(run, state.Timestamp, {})
      : state.Timestamp;
    until = waitDeadline(seconds, timestamp, run);
  } else {
    const scope = engine.scope(
      run,
      selectPath(state.InputPath, run.rawInput, engine.scope(run, undefined)),
    );
    const seconds =
      state.SecondsPath !== undefined ? readPath(state.SecondsPath, scope) : state.Seconds;
    const timestamp =
      state.TimestampPath !== undefined ? readPath(state.TimestampPath, scope) : state.Timestamp;
    until = waitDeadline(seconds, timestamp, run);
    await sleepUntil(engine, run, until);
    return engine.finish(run, scope.input, undefined, undefined);
  }
  await sleepUntil(engine, run, until);
  return engine.finish(run, run.rawInput, undefined, undefined);
}

function waitDeadline(seconds: unknown, timestamp: unknown, run: StateRun): number {
  if (seconds !== undefined) {
    if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 0) {
      throw new StatesError(
        "States.Runtime",
        `The Wait state's seconds value ${JSON.stringify(seconds)} is not a non-negative integer`,
      );
    }
    return run.enteredTime + seconds * 1000;
  }
  const time = parseTimestamp(timestamp);
  if (time === undefined) {
    throw new StatesError(
      "States.Runtime",
      `The Wait state's timestamp value ${JSON.stringify(timestamp)} is not an ISO-8601 timestamp`,
    );
  }
  return time;
}

async function sleepUntil(engine: Engine, run: StateRun, until: number): Promise<void> {
  const delay = until - engine.clock.now();
  if (delay > 0) await run.frame.cancellation.sleep(engine.clock, delay);
}

export async function runFail(engine: Engine, run: StateRun): Promise<Outcome> {
  const { state } = run;
  let error = state.Error;
  let cause = state.Cause;
  if (run.language === "JSONata") {
    if (isJsonataExpression(error)) error = (await engine.evaluate(run, error, {})) as string;
    if (isJsonataExpression(cause)) cause = (await engine.evaluate(run, cause, {})) as string;
  } else {
    const scope = engine.scope(run, run.rawInput);
    if (state.ErrorPath !== undefined) error = readStringPath(state.ErrorPath, scope, "ErrorPath");
    if (state.CausePath !== undefined) cause = readStringPath(state.CausePath, scope, "CausePath");
  }
  const failure = new StatesError(error ?? "", cause);
  failure.located = true;
  throw failure;
}

function noChoiceMatched(): StatesError {
  // NOTE: the error name is AWS's; the cause wording is the simulator's.
  return new StatesError(
    "States.NoChoiceMatched",
    "No Choice rule matched the input and the Choice state has no Default.",
  );
}

function readPath(path: string, scope: DataScope): unknown {
  const resolved = resolvePath(path, scope);
  if (!resolved.found)
    throw new StatesError("States.Runtime", `Invalid path '${path}': No results for path: ${path}`);
  return resolved.value;
}

function readStringPath(path: string, scope: DataScope, field: string): string {
  // ErrorPath and CausePath accept an intrinsic function as well as a path.
  // https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
  const value = isIntrinsic(path)
    ? evaluateIntrinsic(path, (argument) => readPath(argument, scope))
    : readPath(path, scope);
  if (typeof value !== "string") {
    throw new StatesError(
      "States.Runtime",
      `The ${field} '${path}' must select a string, but selected ${JSON.stringify(value)}`,
    );
  }
  return value;
}
