/**
 * Map states, inline and distributed. Each item gets one iteration, with at
 * most MaxConcurrency running at a time (0 means no limit, 1 runs the items
 * in order). Results keep item order. A failed iteration fails the state
 * unless ToleratedFailureCount or ToleratedFailurePercentage allow it.
 * https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html
 * https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
 */
import { randomUUID } from "node:crypto";
import type { StateDefinition, StateMachineDefinition } from "../asl/types.ts";
import { AbortedError, StatesError } from "../errors.ts";
import { evaluateJsonata, evaluateTemplate, isJsonataExpression } from "../paths/jsonata.ts";
import { buildPayload, resolvePath, selectPath } from "../paths/payload.ts";
import type { Engine } from "./engine.ts";
import { batchItems, readItems, writeResults } from "./map-items.ts";
import type { MapRun, StateOutcome, StateRun } from "./types.ts";

/** Details field of each iteration event type. */
const ITERATION_DETAILS = {
  MapIterationStarted: "mapIterationStartedEventDetails",
  MapIterationSucceeded: "mapIterationSucceededEventDetails",
  MapIterationFailed: "mapIterationFailedEventDetails",
  MapIterationAborted: "mapIterationAbortedEventDetails",
} as const;

/** Runs one attempt of a Map state. */
export async function runMap(engine: Engine, run: StateRun): Promise<StateOutcome> {
  const { frame, name, state } = run;
  const processor = (state.ItemProcessor ?? state.Iterator) as NonNullable<
    StateDefinition["ItemProcessor"]
  >;
  const distributed = processor.ProcessorConfig?.Mode === "DISTRIBUTED";

  const effective =
    run.language === "JSONPath"
      ? selectPath(state.InputPath, run.rawInput, engine.scope(run, undefined))
      : run.rawInput;
  let items = await collectItems(engine, run, effective);
  if (state.ItemBatcher) items = await batchItems(engine, run, state.ItemBatcher, items, effective);
  const maxConcurrency = await readNumber(
    engine,
    run,
    state.MaxConcurrency,
    state.MaxConcurrencyPath,
    effective,
    "MaxConcurrency",
  );
  const toleratedCount = await readNumber(
    engine,
    run,
    state.ToleratedFailureCount,
    state.ToleratedFailureCountPath,
    effective,
    "ToleratedFailureCount",
  );
  const toleratedPercentage = await readNumber(
    engine,
    run,
    state.ToleratedFailurePercentage,
    state.ToleratedFailurePercentagePath,
    effective,
    "ToleratedFailurePercentage",
  );

  const baseKey = `${frame.memoKey}/${name}#${frame.visits.get(name) ?? 1}`;
  const mapRun =
    distributed && engine.mapRuns
      ? await engine.mapRuns.open({
          executionArn: engine.identity.executionArn,
          stateMachineArn: engine.identity.stateMachineArn,
          roleArn: engine.identity.roleArn,
          label: state.Label ?? name,
          stateKey: baseKey,
          // A Retry of the state starts a new Map Run. Only the redrive's first attempt reruns the last one.
          redrive: engine.identity.redriveCount > 0 && run.retryCount === 0,
          definition: childDefinition(processor, run.language),
          itemCount: items.reduce<number>((sum, item) => sum + itemCountOf(item, state), 0),
          childCount: items.length,
          maxConcurrency: maxConcurrency ?? 0,
          toleratedFailureCount: toleratedCount ?? 0,
          toleratedFailurePercentage: toleratedPercentage ?? 0,
          caller: engine.caller(),
        })
      : undefined;
  const mapRunArn = mapRun?.mapRunArn ?? (distributed ? mapRunArnOf(engine, name) : undefined);
  let startedId: number;
  if (mapRun && mapRun.redriveCount > 0) {
    startedId = engine.addEvent(frame, "MapRunRedriven", "mapRunRedrivenEventDetails", {
      mapRunArn,
      redriveCount: mapRun.redriveCount,
    });
  } else if (distributed) {
    startedId = engine.addEvent(frame, "MapRunStarted", "mapRunStartedEventDetails", {
      mapRunArn,
    });
  } else {
    startedId = engine.addEvent(frame, "MapStateStarted", "mapStateStartedEventDetails", {
      length: items.length,
    });
  }

  const scope = frame.cancellation.child();
  const results = new Array<unknown>(items.length);
  const failures: { index: number; error: StatesError }[] = [];
  let fatal: unknown;

  const tooManyFailures = () => {
    if (toleratedCount === undefined && toleratedPercentage === undefined)
      return failures.length > 0;
    if (toleratedCount !== undefined && failures.length > toleratedCount) return true;
    if (
      toleratedPercentage !== undefined &&
      (failures.length / Math.max(1, items.length)) * 100 > toleratedPercentage
    )
      return true;
    return false;
  };

  // A child execution's failure counts against the tolerated threshold like
  // an inline iteration's, and a running child is stopped when the Map Run fails.
  const iterateChild = async (child: MapRun, index: number) => {
    const previous = child.previousOutput(index);
    if (previous.found) {
      results[index] = previous.value;
      return;
    }

    const item = items[index];
    let childInput = selectItem(engine, run, effective, { Index: index, Value: item });
    if (childInput instanceof Promise) childInput = await childInput;
    const outcome = await child.runChild(index, childInput, itemCountOf(item, state), scope);

    if (outcome.status === "SUCCEEDED") {
      results[index] = outcome.output;
      return;
    }
    if (outcome.status === "ABORTED" && scope.cancelled) return;
    // NOTE: a child stopped with StopExecution counts as failed; AWS's count for it is unchecked.
    const error = new StatesError(
      outcome.error ?? (outcome.status === "TIMED_OUT" ? "States.Timeout" : ""),
      outcome.cause,
    );
    failures.push({ index, error });
    results[index] = { Error: error.name, Cause: error.causeText };
    if (tooManyFailures()) scope.cancel();
  };

  const iterate = async (index: number) => {
    if (mapRun) return iterateChild(mapRun, index);
    const key = `${baseKey}[${index}]`;
    const reused = engine.reuseResult(key);
    if (reused.found) {
      results[index] = reused.value;
      return;
    }

    const item = items[index];
    const mapItem = { Index: index, Value: item };
    let iterationInput = selectItem(engine, run, effective, mapItem);
    if (iterationInput instanceof Promise) iterationInput = await iterationInput;

    // Iteration events of an inline Map chain from the Map's own events; a
    // Distributed Map records none (AWS keeps them in child executions).
    const recordIteration = !distributed && !frame.silent;
    const iterationEvent = (
      type: keyof typeof ITERATION_DETAILS,
      previousEventId: number,
    ): number =>
      engine.history.add(type, previousEventId, ITERATION_DETAILS[type], { name, index });
    const startedEventId = recordIteration
      ? iterationEvent("MapIterationStarted", startedId)
      : startedId;

    const child = engine.childFrame(frame, processor, {
      memoKey: key,
      cancellation: scope,
      previousEventId: startedEventId,
      mapItem,
    });
    child.silent = distributed || frame.silent;

    try {
      results[index] = await engine.runFrame(child, iterationInput);
      engine.memo.set(key, results[index]);
      if (recordIteration) iterationEvent("MapIterationSucceeded", child.previousEventId);
    } catch (error) {
      if (error instanceof AbortedError) {
        if (recordIteration && !engine.history.limitReached)
          iterationEvent("MapIterationAborted", child.previousEventId);
        return;
      }

      if (recordIteration && !engine.history.limitReached)
        iterationEvent("MapIterationFailed", child.previousEventId);
      if (
        !(error instanceof StatesError) ||
        error.name === "States.Runtime" ||
        error.name === "States.DataLimitExceeded"
      ) {
        fatal ??= error;
        scope.cancel();
        return;
      }
      failures.push({ index, error });
      results[index] = { Error: error.name, Cause: error.causeText };
      if (tooManyFailures()) scope.cancel();
    }
  };

  await runPool(items.length, maxConcurrency ?? 0, iterate, () => scope.cancelled);

  frame.previousEventId = engine.history.lastEventId;
  if (frame.cancellation.cancelled && mapRun) {
    await mapRun.finish("ABORTED", 0);
    if (!engine.history.limitReached) engine.addEvent(frame, "MapRunAborted");
  }
  frame.cancellation.throwIfCancelled();
  if (fatal !== undefined || tooManyFailures()) {
    await mapRun?.finish("FAILED", 0);
    engine.addEvent(frame, distributed ? "MapRunFailed" : "MapStateFailed");
    if (fatal !== undefined) throw fatal;
    if (toleratedCount === undefined && toleratedPercentage === undefined) throw failures[0].error;
    // NOTE: the error name is AWS's; the cause wording is the simulator's.
    throw new StatesError(
      "States.ExceedToleratedFailureThreshold",
      `The Map state '${name}' had ${failures.length} failed items of ${items.length}, more than its tolerated failure threshold.`,
    );
  }

  let result: unknown = results;
  if (state.ResultWriter) {
    try {
      result = await writeResults(engine, run, state.ResultWriter, {
        mapRunArn: mapRunArn ?? "",
        childArn: (index) => mapRun?.childArn(index) ?? `${engine.identity.executionArn}/${index}`,
        results,
        failures,
      });
    } catch (error) {
      await mapRun?.finish("FAILED", 0);
      engine.addEvent(frame, distributed ? "MapRunFailed" : "MapStateFailed");
      throw error;
    }
  }
  engine.addEvent(frame, distributed ? "MapRunSucceeded" : "MapStateSucceeded");
  await mapRun?.finish("SUCCEEDED", state.ResultWriter ? items.length : 0);
  return engine.finish(run, result, state.ResultSelector, state.ResultPath);
}

/** Builds the state machine each child execution runs from the ItemProcessor. */
function childDefinition(
  processor: NonNullable<StateDefinition["ItemProcessor"]>,
  language: StateMachineDefinition["QueryLanguage"],
): StateMachineDefinition {
  const { ProcessorConfig: _config, ...machine } = processor;
  return { ...machine, QueryLanguage: machine.QueryLanguage ?? language };
}

/** Items one child processes: the size of its ItemBatcher batch, or 1. */
function itemCountOf(item: unknown, state: StateDefinition): number {
  if (!state.ItemBatcher) return 1;
  const batch = (item as { Items?: unknown[] }).Items;
  return Array.isArray(batch) ? batch.length : 1;
}

/** Collects the items of the Map from ItemReader, ItemsPath or Items, or takes the whole input. */
async function collectItems(engine: Engine, run: StateRun, effective: unknown): Promise<unknown[]> {
  const { state } = run;
  let items: unknown;
  let source = "$";
  if (state.ItemReader) {
    items = await readItems(engine, run, state.ItemReader, effective);
  } else if (run.language === "JSONata") {
    items =
      state.Items === undefined
        ? run.rawInput
        : isJsonataExpression(state.Items)
          ? await engine.evaluate(run, state.Items, {})
          : state.Items;
    source = "Items";
  } else if (state.ItemsPath !== undefined) {
    source = state.ItemsPath;
    const resolved = resolvePath(state.ItemsPath, engine.scope(run, effective));
    if (!resolved.found) {
      throw new StatesError(
        "States.Runtime",
        `Invalid path '${state.ItemsPath}' : No results for path: ${state.ItemsPath}`,
      );
    }
    items = resolved.value;
  } else items = effective;

  if (!Array.isArray(items)) {
    // NOTE: the wording of this cause is the simulator's.
    throw new StatesError(
      "States.Runtime",
      `The Map state's items at '${source}' are not a JSON array: ${JSON.stringify(items)?.slice(0, 200)}`,
    );
  }
  return items;
}

/** Input of one iteration: ItemSelector (or the legacy Parameters) or the item itself. */
function selectItem(
  engine: Engine,
  run: StateRun,
  effective: unknown,
  mapItem: { Index: number; Value: unknown },
): unknown {
  const { state } = run;
  const template = state.ItemSelector ?? state.Parameters;
  if (template === undefined) return mapItem.Value;
  const context = { ...engine.context(run), Map: { Item: mapItem } };
  if (run.language === "JSONata") {
    return evaluateTemplate(template, { input: run.rawInput, context }, run.frame.variables);
  }
  return buildPayload(template, { input: effective, context, variables: run.frame.variables });
}

async function readNumber(
  engine: Engine,
  run: StateRun,
  value: number | string | undefined,
  path: string | undefined,
  effective: unknown,
  field: string,
): Promise<number | undefined> {
  let number: unknown = value;
  if (isJsonataExpression(value)) {
    number = await evaluateJsonata(
      value,
      { input: run.rawInput, context: engine.context(run) },
      run.frame.variables,
    );
  } else if (path !== undefined) {
    const resolved = resolvePath(path, engine.scope(run, effective));
    if (!resolved.found)
      throw new StatesError(
        "States.Runtime",
        `Invalid path '${path}' : No results for path: ${path}`,
      );
    number = resolved.value;
  }
  if (number === undefined) return undefined;
  if (typeof number !== "number" || number < 0) {
    throw new StatesError(
      "States.Runtime",
      `The value of ${field} must be a non-negative number, received ${JSON.stringify(number)}`,
    );
  }
  return number;
}

/** Runs `count` tasks with at most `limit` at once (0: no limit), starting them in index order. */
async function runPool(
  count: number,
  limit: number,
  task: (index: number) => Promise<void>,
  stopped: () => boolean,
): Promise<void> {
  const width = limit <= 0 ? count : Math.min(limit, count);
  let next = 0;
  const worker = async () => {
    while (next < count && !stopped()) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

function mapRunArnOf(engine: Engine, stateName: string): string {
  const { executionArn } = engine.identity;
  const [, , , region, account, , machine, execution] = executionArn.split(":");
  return `arn:aws:states:${region}:${account}:mapRun:${machine}/${stateName}:${execution ?? randomUUID()}-${randomUUID().slice(0, 8)}`;
}
