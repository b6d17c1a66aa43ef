/**
 * The re-run phase of a replay, as an operator does it the morning after:
 * wait until the load is over, then redrive failed executions (or start a
 * new execution per failed document) one at a time. By then the functions'
 * keep-alive has reclaimed the environments that failed, so the re-runs
 * land on fresh ones unless the pool still has a warm one.
 */
import { type SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { Clock } from "../clock.ts";
import { classifyFailure } from "../report/failure-kinds.ts";
import type { DriverError, ExecutionSummary } from "../report/run-data.ts";
import { sleepUntil, waitWithShortJumps } from "./clock-waits.ts";
import { pipelineInput } from "./deploy.ts";
import type { ExecutionTracker, FailedDocument } from "./execution-tracker.ts";
import type { GapBridge } from "./gap-bridge.ts";

/** When re-runs start and how many, from the scenario (milliseconds of simulated time). */
export interface RerunSchedule {
  after: number;
  every: number;
  max: number;
}

/** Clients, clock and execution tracker of the re-run phase. */
export interface RerunContext {
  clock: Clock;
  sfn: SFNClient;
  tracker: ExecutionTracker;
  bridge: GapBridge;
  stateMachineArn: string;
  bucket: string;
  driverErrors: DriverError[];
  signal?: AbortSignal;
}

/**
 * Picks up to `max` items, taking the kinds in turn (in the order each kind
 * first appears) and the items of one kind in their order, so a rare kind
 * of failure gets re-runs too.
 */
export function pickByKindInTurn<T>(items: T[], kindOf: (item: T) => string, max: number): T[] {
  const queues = new Map<string, T[]>();
  for (const item of items) {
    const kind = kindOf(item);
    const queue = queues.get(kind) ?? [];
    queue.push(item);
    queues.set(kind, queue);
  }

  const picked: T[] = [];
  while (picked.length < max && [...queues.values()].some((queue) => queue.length > 0)) {
    for (const queue of queues.values()) {
      const next = queue.shift();
      if (next !== undefined && picked.length < max) picked.push(next);
    }
  }
  return picked;
}

/** Redrives up to `schedule.max` failed executions, one at a time. */
export async function redriveFailedExecutions(
  context: RerunContext,
  schedule: RerunSchedule,
): Promise<void> {
  const failed = context.tracker.executions.filter(
    (execution) => !execution.retry && isFailed(execution) && execution.redrivenAt === undefined,
  );
  const chosen = pickByKindInTurn(
    failed,
    (execution) => classifyFailure({ errorType: execution.error, message: execution.cause }),
    schedule.max,
  );
  await runOneAtATime(context, schedule, chosen, "RedriveExecution", (execution) =>
    context.tracker.redrive(execution),
  );
}

/** Starts one execution per failed document, for up to `schedule.max` documents, one at a time. */
export async function retryFailedDocuments(
  context: RerunContext,
  schedule: RerunSchedule,
): Promise<void> {
  const seen = new Set<string>();
  const documents = context.tracker.failedDocuments.filter(
    (document) => !seen.has(document.key) && seen.add(document.key),
  );
  let index = 0;
  await runOneAtATime(
    context,
    schedule,
    documents.slice(0, schedule.max),
    "StartExecution",
    async (document: FailedDocument) => {
      const started = await context.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: context.stateMachineArn,
          name: `retry-${String(index++).padStart(4, "0")}`,
          input: JSON.stringify(pipelineInput(context.bucket, [document.key])),
        }),
      );
      context.tracker.add(started.executionArn as string, context.clock.now(), 1, {
        retryOf: document,
      });
    },
  );
}

function isFailed(execution: ExecutionSummary): boolean {
  return (
    execution.status === "FAILED" ||
    execution.status === "TIMED_OUT" ||
    execution.status === "ABORTED"
  );
}

async function runOneAtATime<T>(
  context: RerunContext,
  schedule: RerunSchedule,
  items: T[],
  operation: string,
  start: (item: T) => Promise<void>,
): Promise<void> {
  const { clock, signal } = context;
  if (items.length === 0 || signal?.aborted) return;
  await sleepUntil(clock, clock.now() + schedule.after, signal);

  for (const item of items) {
    if (signal?.aborted) return;
    const slotEnds = clock.now() + schedule.every;

    // Hold the clock while the re-run starts, so it does not jump mid-request.
    const release = clock.hold();
    try {
      await start(item);
      context.bridge.touch();
    } catch (error) {
      context.driverErrors.push({
        at: clock.now(),
        operation,
        errorType: (error as Error).name,
        message: (error as Error).message,
      });
      continue;
    } finally {
      release();
    }

    await waitWithShortJumps(
      clock,
      context.bridge,
      context.tracker.whenIdle(),
      schedule.every,
      signal,
    );
    await sleepUntil(clock, slotEnds, signal);
  }
}
