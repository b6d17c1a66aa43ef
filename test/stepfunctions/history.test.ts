/**
 * Execution histories: event types, ids, previousEventId and details, as
 * GetExecutionHistory returns them, and the 25,000-event cap.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
 */
import { GetExecutionHistoryCommand, type HistoryEvent } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, namedError, runToEnd, startHarness } from "./harness.ts";

const FN = "arn:aws:lambda:us-east-1:123456789012:function:";

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({
    functions: {
      echo: (event) => event,
      slow: () => new Promise((resolve) => setTimeout(() => resolve("late"), 1500)),
      fail: () => {
        throw namedError("Broken", "it broke");
      },
    },
  });
});
afterAll(async () => harness.close());

async function historyOf(
  executionArn: string,
  options: { reverseOrder?: boolean; includeExecutionData?: boolean } = {},
): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await harness.client.send(
      new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000, ...options }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

describe("history of simple states", () => {
  it("records Pass events with ids and details", async () => {
    const result = await runToEnd(
      harness,
      {
        StartAt: "A",
        States: { A: { Type: "Pass", Result: 1, Next: "B" }, B: { Type: "Succeed" } },
      },
      { in: true },
    );
    const events = await historyOf(result.executionArn);

    expect(events.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "PassStateEntered",
      "PassStateExited",
      "SucceedStateEntered",
      "SucceedStateExited",
      "ExecutionSucceeded",
    ]);
    expect(events.map((event) => event.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.map((event) => event.previousEventId)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(events[0].executionStartedEventDetails).toMatchObject({
      input: '{"in":true}',
      inputDetails: { truncated: false },
      roleArn: expect.stringContaining(":role/"),
    });
    expect(events[1].stateEnteredEventDetails).toEqual({
      name: "A",
      input: '{"in":true}',
      inputDetails: { truncated: false },
    });
    expect(events[2].stateExitedEventDetails).toEqual({
      name: "A",
      output: "1",
      outputDetails: { truncated: false },
    });
    expect(events[5].executionSucceededEventDetails).toEqual({
      output: "1",
      outputDetails: { truncated: false },
    });
    expect(events[0].timestamp).toBeInstanceOf(Date);
  });

  it("records a Fail state and ExecutionFailed", async () => {
    const result = await runToEnd(harness, {
      StartAt: "F",
      States: { F: { Type: "Fail", Error: "E", Cause: "C" } },
    });
    const events = await historyOf(result.executionArn);
    expect(events.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "FailStateEntered",
      "ExecutionFailed",
    ]);
    expect(events[2].executionFailedEventDetails).toEqual({ error: "E", cause: "C" });
  });
});

describe("history of Lambda tasks", () => {
  it("records LambdaFunction events for a function ARN", async () => {
    const result = await runToEnd(
      harness,
      {
        StartAt: "T",
        States: { T: { Type: "Task", Resource: `${FN}echo`, TimeoutSeconds: 30, End: true } },
      },
      { x: 1 },
    );
    const events = await historyOf(result.executionArn);
    expect(events.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "TaskStateEntered",
      "LambdaFunctionScheduled",
      "LambdaFunctionStarted",
      "LambdaFunctionSucceeded",
      "TaskStateExited",
      "ExecutionSucceeded",
    ]);
    expect(events[2].lambdaFunctionScheduledEventDetails).toEqual({
      resource: `${FN}echo`,
      input: '{"x":1}',
      inputDetails: { truncated: false },
      timeoutInSeconds: 30,
    });
    expect(events[4].lambdaFunctionSucceededEventDetails).toEqual({
      output: '{"x":1}',
      outputDetails: { truncated: false },
    });
  });

  it("records LambdaFunctionFailed for a function error", async () => {
    const result = await runToEnd(harness, {
      StartAt: "T",
      States: { T: { Type: "Task", Resource: `${FN}fail`, End: true } },
    });
    const events = await historyOf(result.executionArn);
    expect(events.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "TaskStateEntered",
      "LambdaFunctionScheduled",
      "LambdaFunctionStarted",
      "LambdaFunctionFailed",
      "ExecutionFailed",
    ]);
    const cause = '{"errorType":"Broken","errorMessage":"it broke","trace":["Broken: it broke"]}';
    expect(events[4].lambdaFunctionFailedEventDetails).toEqual({ error: "Broken", cause });
    expect(events[5].executionFailedEventDetails).toEqual({ error: "Broken", cause });
  });

  it("records LambdaFunctionTimedOut after TimeoutSeconds", async () => {
    const result = await runToEnd(harness, {
      StartAt: "T",
      States: { T: { Type: "Task", Resource: `${FN}slow`, TimeoutSeconds: 1, End: true } },
    });
    const events = await historyOf(result.executionArn);
    expect(events.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "TaskStateEntered",
      "LambdaFunctionScheduled",
      "LambdaFunctionStarted",
      "LambdaFunctionTimedOut",
      "ExecutionFailed",
    ]);
    expect(events[4].lambdaFunctionTimedOutEventDetails).toEqual({ error: "States.Timeout" });
    expect(events[5].executionFailedEventDetails).toEqual({ error: "States.Timeout" });
  });

  it("records Task events for lambda:invoke", async () => {
    const definition = {
      StartAt: "T",
      States: {
        T: {
          Type: "Task",
          Resource: "arn:aws:states:::lambda:invoke",
          Parameters: { FunctionName: "echo", Payload: { p: 1 } },
          End: true,
        },
      },
    };
    const result = await runToEnd(harness, definition);
    const events = await historyOf(result.executionArn);
    expect(events.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "TaskStateEntered",
      "TaskScheduled",
      "TaskStarted",
      "TaskSucceeded",
      "TaskStateExited",
      "ExecutionSucceeded",
    ]);
    expect(events[2].taskScheduledEventDetails).toEqual({
      resourceType: "lambda",
      resource: "invoke",
      region: "us-east-1",
      parameters: '{"FunctionName":"echo","Payload":{"p":1}}',
    });
    expect(events[3].taskStartedEventDetails).toEqual({
      resourceType: "lambda",
      resource: "invoke",
    });
    expect(events[4].taskSucceededEventDetails).toMatchObject({
      resourceType: "lambda",
      resource: "invoke",
      outputDetails: { truncated: false },
    });
    expect(JSON.parse(events[4].taskSucceededEventDetails?.output as string).Payload).toEqual({
      p: 1,
    });
  });

  it("records each retry attempt inside one state entry", async () => {
    const definition = {
      StartAt: "T",
      States: {
        T: {
          Type: "Task",
          Resource: `${FN}fail`,
          Retry: [{ ErrorEquals: ["Broken"], MaxAttempts: 1, IntervalSeconds: 1 }],
          End: true,
        },
      },
    };
    const result = await runToEnd(harness, definition);
    const events = await historyOf(result.executionArn);
    expect(events.filter((event) => event.type === "TaskStateEntered")).toHaveLength(1);
    expect(events.filter((event) => event.type === "LambdaFunctionFailed")).toHaveLength(2);
  });
});

describe("history of Map and Parallel", () => {
  it("records Map iterations", async () => {
    const definition = {
      StartAt: "M",
      States: {
        M: {
          Type: "Map",
          MaxConcurrency: 1,
          ItemProcessor: { StartAt: "P", States: { P: { Type: "Pass", End: true } } },
          End: true,
        },
      },
    };
    const result = await runToEnd(harness, definition, ["a", "b"]);
    const events = await historyOf(result.executionArn);
    expect(events.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "MapStateEntered",
      "MapStateStarted",
      "MapIterationStarted",
      "PassStateEntered",
      "PassStateExited",
      "MapIterationSucceeded",
      "MapIterationStarted",
      "PassStateEntered",
      "PassStateExited",
      "MapIterationSucceeded",
      "MapStateSucceeded",
      "MapStateExited",
      "ExecutionSucceeded",
    ]);
    expect(events[2].mapStateStartedEventDetails).toEqual({ length: 2 });
    expect(events[3].mapIterationStartedEventDetails).toEqual({ name: "M", index: 0 });
    expect(events[3].previousEventId).toBe(3);
    expect(events[4].previousEventId).toBe(4);
    expect(events[7].mapIterationStartedEventDetails).toEqual({ name: "M", index: 1 });
  });

  it("records a failed iteration and MapStateFailed", async () => {
    const definition = {
      StartAt: "M",
      States: {
        M: {
          Type: "Map",
          MaxConcurrency: 1,
          ItemProcessor: { StartAt: "F", States: { F: { Type: "Fail", Error: "It" } } },
          End: true,
        },
      },
    };
    const result = await runToEnd(harness, definition, [1]);
    const types = (await historyOf(result.executionArn)).map((event) => event.type);
    expect(types).toEqual([
      "ExecutionStarted",
      "MapStateEntered",
      "MapStateStarted",
      "MapIterationStarted",
      "FailStateEntered",
      "MapIterationFailed",
      "MapStateFailed",
      "ExecutionFailed",
    ]);
  });

  it("records Parallel start and end", async () => {
    const definition = {
      StartAt: "P",
      States: {
        P: {
          Type: "Parallel",
          Branches: [{ StartAt: "A", States: { A: { Type: "Pass", End: true } } }],
          End: true,
        },
      },
    };
    const result = await runToEnd(harness, definition);
    const events = await historyOf(result.executionArn);
    expect(events.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "ParallelStateEntered",
      "ParallelStateStarted",
      "PassStateEntered",
      "PassStateExited",
      "ParallelStateSucceeded",
      "ParallelStateExited",
      "ExecutionSucceeded",
    ]);
    expect(events[3].previousEventId).toBe(3);
  });
});

describe("GetExecutionHistory options", () => {
  it("pages, reverses and hides data", async () => {
    const result = await runToEnd(
      harness,
      { StartAt: "A", States: { A: { Type: "Pass", Next: "B" }, B: { Type: "Pass", End: true } } },
      { secret: 1 },
    );

    const first = await harness.client.send(
      new GetExecutionHistoryCommand({ executionArn: result.executionArn, maxResults: 2 }),
    );
    expect(first.events?.map((event) => event.id)).toEqual([1, 2]);
    const second = await harness.client.send(
      new GetExecutionHistoryCommand({
        executionArn: result.executionArn,
        maxResults: 2,
        nextToken: first.nextToken,
      }),
    );
    expect(second.events?.map((event) => event.id)).toEqual([3, 4]);

    const reversed = await historyOf(result.executionArn, { reverseOrder: true });
    expect(reversed.map((event) => event.id)).toEqual([6, 5, 4, 3, 2, 1]);

    const hidden = await historyOf(result.executionArn, { includeExecutionData: false });
    expect(hidden[0].executionStartedEventDetails?.input).toBeUndefined();
    expect(hidden[1].stateEnteredEventDetails).toEqual({
      name: "A",
      inputDetails: { truncated: false },
    });
  });
});

describe("history event cap", () => {
  it("fails a 1,000-item Map at 25,000 events", async () => {
    // Each iteration records 2 + 2 * 12 events, so 1,000 iterations need 26,000.
    const states: Record<string, unknown> = {};
    for (let i = 0; i < 12; i++)
      states[`P${i}`] =
        i === 11 ? { Type: "Pass", End: true } : { Type: "Pass", Next: `P${i + 1}` };
    const definition = {
      StartAt: "M",
      States: {
        M: {
          Type: "Map",
          MaxConcurrency: 40,
          ItemProcessor: { StartAt: "P0", States: states },
          End: true,
        },
      },
    };

    const result = await runToEnd(
      harness,
      definition,
      Array.from({ length: 1000 }, (_, index) => index),
    );
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("States.Runtime");
    expect(result.cause).toBe(
      "The execution reached the maximum number of history events (25000).",
    );

    const events = await historyOf(result.executionArn);
    expect(events).toHaveLength(25_000);
    expect(events[24_999].type).toBe("ExecutionFailed");
    expect(events[24_999].id).toBe(25_000);
    expect(events[24_999].executionFailedEventDetails).toEqual({
      error: "States.Runtime",
      cause: "The execution reached the maximum number of history events (25000).",
    });
  });

  it("lets a 1,000-item Map under the cap succeed", async () => {
    const definition = {
      StartAt: "M",
      States: {
        M: {
          Type: "Map",
          MaxConcurrency: 40,
          ItemProcessor: { StartAt: "P", States: { P: { Type: "Pass", End: true } } },
          End: true,
        },
      },
    };
    const result = await runToEnd(
      harness,
      definition,
      Array.from({ length: 1000 }, (_, index) => index),
    );
    expect(result.status).toBe("SUCCEEDED");
    expect(JSON.parse(result.output as string)).toHaveLength(1000);
    const events = await historyOf(result.executionArn);
    // ExecutionStarted, MapStateEntered, MapStateStarted, 4 per item, MapStateSucceeded, MapStateExited, ExecutionSucceeded.
    expect(events).toHaveLength(6 + 4 * 1000);
  });
});
