/**
 * Inline Map iterations aborted because another iteration failed: the
 * running task gets one TaskStateAborted and no invented Lambda failure, and
 * the iteration ends MapIterationAborted, with or without a Catch.
 */
import { GetExecutionHistoryCommand, type HistoryEvent } from "@aws-sdk/client-sfn";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Harness, namedError, runToEnd, startHarness } from "./harness.ts";

const FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:worker";

let harness: Harness;
let releaseSlowItems: () => void = () => {};
let slowItemsDone: Promise<void> = Promise.resolve();

beforeAll(async () => {
  harness = await startHarness({
    functions: {
      // Item 1 fails at once. Any other item runs until the test releases it.
      worker: async (event) => {
        const { item } = event as { item: number };
        if (item === 1) throw namedError("ItemFailed", "item 1 fails at once");
        await slowItemsDone;
        return { item };
      },
    },
  });
});

beforeEach(() => {
  slowItemsDone = new Promise((resolve) => {
    releaseSlowItems = resolve;
  });
});

afterEach(() => {
  releaseSlowItems();
});

afterAll(async () => {
  releaseSlowItems();
  await harness.close();
});

/** Builds a Map over $.items whose iterator starts at one Task state named Work. */
function mapOf(work: Record<string, unknown>, extraStates: Record<string, unknown> = {}) {
  return {
    StartAt: "Items",
    States: {
      Items: {
        Type: "Map",
        ItemsPath: "$.items",
        ItemProcessor: {
          ProcessorConfig: { Mode: "INLINE" },
          StartAt: "Work",
          States: { Work: { Type: "Task", End: true, ...work }, ...extraStates },
        },
        End: true,
      },
    },
  };
}

const legacyTask = { Resource: FUNCTION_ARN, Parameters: { "item.$": "$" } };
const optimizedTask = {
  Resource: "arn:aws:states:::lambda:invoke",
  Parameters: { FunctionName: "worker", Payload: { "item.$": "$" } },
};
const sdkClientRetry = [
  { ErrorEquals: ["Lambda.SdkClientException"], IntervalSeconds: 1, MaxAttempts: 3 },
];

async function historyOf(executionArn: string): Promise<HistoryEvent[]> {
  const history = await harness.client.send(new GetExecutionHistoryCommand({ executionArn }));
  return history.events ?? [];
}

function typesOf(events: HistoryEvent[]): string[] {
  return events.map((event) => event.type as string);
}

/** Events until both iterations have started their Lambda call. */
const LEGACY_START = [
  "ExecutionStarted",
  "MapStateEntered",
  "MapStateStarted",
  "MapIterationStarted",
  "TaskStateEntered",
  "LambdaFunctionScheduled",
  "LambdaFunctionStarted",
  "MapIterationStarted",
  "TaskStateEntered",
  "LambdaFunctionScheduled",
  "LambdaFunctionStarted",
];
const ABORTED_END = [
  "MapIterationFailed",
  "TaskStateAborted",
  "MapIterationAborted",
  "MapStateFailed",
  "ExecutionFailed",
];

describe("aborted iteration with a function ARN resource", () => {
  it("records TaskStateAborted without a Lambda failure", async () => {
    const result = await runToEnd(harness, mapOf({ ...legacyTask, Retry: sdkClientRetry }), {
      items: [1, 2],
    });
    const events = await historyOf(result.executionArn);

    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("ItemFailed");
    expect(typesOf(events)).toEqual([...LEGACY_START, "LambdaFunctionFailed", ...ABORTED_END]);
    expect(events[11].lambdaFunctionFailedEventDetails?.error).toBe("ItemFailed");
    expect(events[12].mapIterationFailedEventDetails).toEqual({ name: "Items", index: 0 });
    expect(events[14].mapIterationAbortedEventDetails).toEqual({ name: "Items", index: 1 });
  });

  it("ends MapIterationAborted when the Task has a Catch", async () => {
    const definition = mapOf(
      { ...legacyTask, Catch: [{ ErrorEquals: ["BadInput"], ResultPath: "$", Next: "Skipped" }] },
      { Skipped: { Type: "Pass", End: true } },
    );
    const result = await runToEnd(harness, definition, { items: [1, 2] });
    const events = await historyOf(result.executionArn);

    expect(typesOf(events)).toEqual([...LEGACY_START, "LambdaFunctionFailed", ...ABORTED_END]);
  });

  it("does not run a States.ALL catcher of the aborted task", async () => {
    const definition = {
      StartAt: "Items",
      States: {
        Items: {
          Type: "Map",
          ItemsPath: "$.items",
          ItemProcessor: {
            ProcessorConfig: { Mode: "INLINE" },
            StartAt: "Route",
            States: {
              Route: {
                Type: "Choice",
                Choices: [{ Variable: "$", NumericEquals: 1, Next: "Boom" }],
                Default: "Work",
              },
              Boom: { Type: "Fail", Error: "Boom", Cause: "item 1 fails" },
              Work: {
                ...legacyTask,
                Type: "Task",
                Catch: [{ ErrorEquals: ["States.ALL"], Next: "Skipped" }],
                End: true,
              },
              Skipped: { Type: "Pass", End: true },
            },
          },
          End: true,
        },
      },
    };
    const result = await runToEnd(harness, definition, { items: [2, 1] });
    const types = typesOf(await historyOf(result.executionArn));

    expect(result.error).toBe("Boom");
    expect(types).not.toContain("PassStateEntered");
    expect(types).not.toContain("LambdaFunctionFailed");
    expect(types.slice(-5)).toEqual([
      "MapIterationFailed",
      "TaskStateAborted",
      "MapIterationAborted",
      "MapStateFailed",
      "ExecutionFailed",
    ]);
  });
});

describe("aborted iteration with lambda:invoke", () => {
  it("records TaskStateAborted once", async () => {
    const result = await runToEnd(harness, mapOf({ ...optimizedTask, Retry: sdkClientRetry }), {
      items: [1, 2],
    });
    const events = await historyOf(result.executionArn);

    expect(typesOf(events)).toEqual([
      "ExecutionStarted",
      "MapStateEntered",
      "MapStateStarted",
      "MapIterationStarted",
      "TaskStateEntered",
      "TaskScheduled",
      "TaskStarted",
      "MapIterationStarted",
      "TaskStateEntered",
      "TaskScheduled",
      "TaskStarted",
      "TaskFailed",
      ...ABORTED_END,
    ]);
    expect(events[11].taskFailedEventDetails?.error).toBe("ItemFailed");
    expect(events[14].mapIterationAbortedEventDetails).toEqual({ name: "Items", index: 1 });
  });

  it("records TaskStateAborted once in a Parallel branch", async () => {
    const definition = {
      StartAt: "Both",
      States: {
        Both: {
          Type: "Parallel",
          End: true,
          Branches: [1, 2].map((item) => ({
            StartAt: "Work",
            States: {
              Work: {
                ...optimizedTask,
                Type: "Task",
                Parameters: { FunctionName: "worker", Payload: { item } },
                Retry: sdkClientRetry,
                End: true,
              },
            },
          })),
        },
      },
    };
    const result = await runToEnd(harness, definition);
    const types = typesOf(await historyOf(result.executionArn));

    expect(types.filter((type) => type === "TaskStateAborted")).toHaveLength(1);
    expect(types.slice(-3)).toEqual(["TaskStateAborted", "ParallelStateFailed", "ExecutionFailed"]);
  });
});
