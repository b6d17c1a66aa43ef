/**
 * Distributed Map runs as AWS shows them: ListMapRuns, DescribeMapRun,
 * child executions listed with ListExecutions(mapRunArn) and read with
 * DescribeExecution and GetExecutionHistory, redrive of the failed children
 * only, and aborted children.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-examine-map-run.html
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  type DescribeMapRunCommandOutput,
  DescribeStateMachineForExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListMapRunsCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createMachine, type Harness, namedError, runToEnd, startHarness } from "./harness.ts";

const MAP_RUN_ARN =
  /^arn:aws:states:us-east-1:123456789012:mapRun:(machine-[^/]+)\/Docs:[0-9a-f-]{36}$/;
const CHILD_ARN =
  /^arn:aws:states:us-east-1:123456789012:execution:(machine-[^/]+)\/Docs:[0-9a-f-]{36}$/;

let harness: Harness;
let failingKeys = new Set<string>();
let releaseSlowKeys: () => void = () => {};
let slowKeysDone: Promise<void> = Promise.resolve();

beforeAll(async () => {
  harness = await startHarness({
    functions: {
      // Analyzes one document: a key in failingKeys fails, "slow" waits for the test.
      analyze: async (event) => {
        const { key } = event as { key: string };
        if (failingKeys.has(key)) throw namedError("NoSuchKey", `The key ${key} does not exist`);
        if (key === "slow") await slowKeysDone;
        return { key, pages: key.length };
      },
    },
  });
});

beforeEach(() => {
  failingKeys = new Set();
  slowKeysDone = new Promise((resolve) => {
    releaseSlowKeys = resolve;
  });
});

afterEach(() => {
  releaseSlowKeys();
});

afterAll(async () => {
  releaseSlowKeys();
  await harness.close();
});

/** Builds a Distributed Map named Docs over $.keys whose children run one Analyze task. */
function documentMap(extra: Record<string, unknown> = {}) {
  return {
    StartAt: "Docs",
    States: {
      Docs: {
        Type: "Map",
        ItemsPath: "$.keys",
        ItemSelector: { "key.$": "$$.Map.Item.Value" },
        ItemProcessor: {
          ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
          StartAt: "Analyze",
          States: {
            Analyze: {
              Type: "Task",
              Resource: "arn:aws:states:::lambda:invoke",
              Parameters: { FunctionName: "analyze", "Payload.$": "$" },
              OutputPath: "$.Payload",
              End: true,
            },
          },
        },
        End: true,
        ...extra,
      },
    },
  };
}

async function onlyMapRun(executionArn: string): Promise<string> {
  const listed = await harness.client.send(new ListMapRunsCommand({ executionArn }));
  expect(listed.mapRuns).toHaveLength(1);
  return listed.mapRuns?.[0].mapRunArn as string;
}

async function describeMapRun(mapRunArn: string): Promise<DescribeMapRunCommandOutput> {
  return harness.client.send(new DescribeMapRunCommand({ mapRunArn }));
}

async function childrenOf(mapRunArn: string, statusFilter?: "FAILED" | "ABORTED" | "SUCCEEDED") {
  const listed = await harness.client.send(new ListExecutionsCommand({ mapRunArn, statusFilter }));
  return listed.executions ?? [];
}

async function historyTypes(executionArn: string): Promise<string[]> {
  return (await historyOf(executionArn)).map((event) => event.type as string);
}

async function historyOf(executionArn: string): Promise<HistoryEvent[]> {
  const history = await harness.client.send(new GetExecutionHistoryCommand({ executionArn }));
  return history.events ?? [];
}

describe("ListMapRuns and DescribeMapRun", () => {
  it("list the Map Run of an execution", async () => {
    const result = await runToEnd(harness, documentMap({ MaxConcurrency: 2 }), {
      keys: ["a", "bb", "ccc"],
    });
    const listed = await harness.client.send(
      new ListMapRunsCommand({ executionArn: result.executionArn }),
    );

    expect(listed.mapRuns).toHaveLength(1);
    const item = listed.mapRuns?.[0];
    expect(item?.mapRunArn).toMatch(MAP_RUN_ARN);
    expect(item?.executionArn).toBe(result.executionArn);
    expect(item?.stateMachineArn).toBe(result.stateMachineArn);
    expect(item?.startDate).toBeInstanceOf(Date);
    expect(item?.stopDate).toBeInstanceOf(Date);
  });

  it("describe a finished Map Run", async () => {
    const result = await runToEnd(
      harness,
      documentMap({ MaxConcurrency: 2, ToleratedFailureCount: 1, ToleratedFailurePercentage: 50 }),
      { keys: ["a", "bb", "ccc"] },
    );
    const mapRunArn = await onlyMapRun(result.executionArn);
    const described = await describeMapRun(mapRunArn);

    expect(described.mapRunArn).toBe(mapRunArn);
    expect(described.executionArn).toBe(result.executionArn);
    expect(described.status).toBe("SUCCEEDED");
    expect(described.maxConcurrency).toBe(2);
    expect(described.toleratedFailureCount).toBe(1);
    expect(described.toleratedFailurePercentage).toBe(50);
    expect(described.redriveCount).toBe(0);
    expect(described.stopDate).toBeInstanceOf(Date);
    const counts = {
      pending: 0,
      running: 0,
      succeeded: 3,
      failed: 0,
      timedOut: 0,
      aborted: 0,
      total: 3,
      resultsWritten: 0,
      failuresNotRedrivable: 0,
      pendingRedrive: 0,
    };
    expect(described.itemCounts).toEqual(counts);
    expect(described.executionCounts).toEqual(counts);
  });

  it("names the Map Run in the parent's events", async () => {
    const result = await runToEnd(harness, documentMap(), { keys: ["a"] });
    const mapRunArn = await onlyMapRun(result.executionArn);
    const events = await historyOf(result.executionArn);

    expect(events.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "MapStateEntered",
      "MapRunStarted",
      "MapRunSucceeded",
      "MapStateExited",
      "ExecutionSucceeded",
    ]);
    expect(events[2].mapRunStartedEventDetails?.mapRunArn).toBe(mapRunArn);
  });

  it("counts items and batches apart", async () => {
    const definition = documentMap({ ItemBatcher: { MaxItemsPerBatch: 2 } });
    definition.States.Docs.ItemSelector = undefined as never;
    definition.States.Docs.ItemProcessor.States.Analyze = {
      Type: "Pass",
      End: true,
    } as never;
    const result = await runToEnd(harness, definition, { keys: ["a", "b", "c"] });
    const mapRunArn = await onlyMapRun(result.executionArn);
    const described = await describeMapRun(mapRunArn);
    const children = await childrenOf(mapRunArn);

    expect(result.status).toBe("SUCCEEDED");
    expect(described.itemCounts?.total).toBe(3);
    expect(described.itemCounts?.succeeded).toBe(3);
    expect(described.executionCounts?.total).toBe(2);
    expect(described.executionCounts?.succeeded).toBe(2);
    expect(children.map((child) => child.itemCount).sort()).toEqual([1, 2]);
  });

  it("reject an unknown Map Run with ResourceNotFound", async () => {
    const unknown = "arn:aws:states:us-east-1:123456789012:mapRun:nothing/Docs:0";

    await expect(describeMapRun(unknown)).rejects.toMatchObject({ name: "ResourceNotFound" });
    await expect(childrenOf(unknown)).rejects.toMatchObject({ name: "ResourceNotFound" });
  });

  it("reject ListMapRuns of an unknown execution", async () => {
    const executionArn = "arn:aws:states:us-east-1:123456789012:execution:nothing:none";

    await expect(
      harness.client.send(new ListMapRunsCommand({ executionArn })),
    ).rejects.toMatchObject({ name: "ExecutionDoesNotExist" });
  });
});

describe("Map Run child executions", () => {
  it("are listed by ListExecutions with mapRunArn", async () => {
    const result = await runToEnd(harness, documentMap(), { keys: ["a", "bb"] });
    const mapRunArn = await onlyMapRun(result.executionArn);
    const children = await childrenOf(mapRunArn);

    expect(children).toHaveLength(2);
    for (const child of children) {
      expect(child.executionArn).toMatch(CHILD_ARN);
      expect(child.mapRunArn).toBe(mapRunArn);
      expect(child.itemCount).toBe(1);
      expect(child.status).toBe("SUCCEEDED");
      expect(child.stateMachineArn).toBe(`${result.stateMachineArn}/Docs`);
    }
  });

  it("are not listed with the parent's state machine", async () => {
    const result = await runToEnd(harness, documentMap(), { keys: ["a", "bb"] });
    const listed = await harness.client.send(
      new ListExecutionsCommand({ stateMachineArn: result.stateMachineArn }),
    );

    expect(listed.executions?.map((execution) => execution.executionArn)).toEqual([
      result.executionArn,
    ]);
  });

  it("have their own input, output and history", async () => {
    const result = await runToEnd(harness, documentMap(), { keys: ["bb"] });
    const [child] = await childrenOf(await onlyMapRun(result.executionArn));
    const described = await harness.client.send(
      new DescribeExecutionCommand({ executionArn: child.executionArn }),
    );

    expect(JSON.parse(described.input as string)).toEqual({ key: "bb" });
    expect(JSON.parse(described.output as string)).toEqual({ key: "bb", pages: 2 });
    expect(described.mapRunArn).toBe(child.mapRunArn);
    expect(await historyTypes(child.executionArn as string)).toEqual([
      "ExecutionStarted",
      "TaskStateEntered",
      "TaskScheduled",
      "TaskStarted",
      "TaskSucceeded",
      "TaskStateExited",
      "ExecutionSucceeded",
    ]);
  });

  it("describe their ItemProcessor as their state machine", async () => {
    const result = await runToEnd(harness, documentMap(), { keys: ["a"] });
    const [child] = await childrenOf(await onlyMapRun(result.executionArn));
    const machine = await harness.client.send(
      new DescribeStateMachineForExecutionCommand({ executionArn: child.executionArn }),
    );

    expect(machine.stateMachineArn).toBe(`${result.stateMachineArn}/Docs`);
    expect(machine.label).toBe("Docs");
    expect(machine.mapRunArn).toBe(child.mapRunArn);
    expect(JSON.parse(machine.definition as string).StartAt).toBe("Analyze");
  });

  it("show which document failed and where", async () => {
    failingKeys = new Set(["missing.pdf"]);
    const result = await runToEnd(harness, documentMap(), {
      keys: ["a.pdf", "missing.pdf", "b.pdf"],
    });
    const mapRunArn = await onlyMapRun(result.executionArn);
    const failed = await childrenOf(mapRunArn, "FAILED");
    const described = await harness.client.send(
      new DescribeExecutionCommand({ executionArn: failed[0].executionArn }),
    );
    const events = await historyOf(failed[0].executionArn as string);
    const taskFailed = events.find((event) => event.type === "TaskFailed");
    const entered = events.find((event) => event.type === "TaskStateEntered");

    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("NoSuchKey");
    expect(failed).toHaveLength(1);
    expect(JSON.parse(described.input as string)).toEqual({ key: "missing.pdf" });
    expect(described.error).toBe("NoSuchKey");
    expect(entered?.stateEnteredEventDetails?.name).toBe("Analyze");
    expect(taskFailed?.taskFailedEventDetails?.error).toBe("NoSuchKey");
    expect((await describeMapRun(mapRunArn)).status).toBe("FAILED");
    expect((await describeMapRun(mapRunArn)).executionCounts?.failed).toBe(1);
  });

  it("are aborted when the Map Run fails", async () => {
    failingKeys = new Set(["bad"]);
    const result = await runToEnd(harness, documentMap(), { keys: ["slow", "bad"] });
    const mapRunArn = await onlyMapRun(result.executionArn);
    const [aborted] = await childrenOf(mapRunArn, "ABORTED");
    const described = await describeMapRun(mapRunArn);

    expect(result.status).toBe("FAILED");
    expect(aborted).toBeDefined();
    expect((await historyTypes(aborted.executionArn as string)).slice(-2)).toEqual([
      "TaskStateAborted",
      "ExecutionAborted",
    ]);
    expect(described.executionCounts?.aborted).toBe(1);
    expect(described.executionCounts?.failed).toBe(1);
    expect((await historyTypes(result.executionArn)).slice(-3)).toEqual([
      "MapRunStarted",
      "MapRunFailed",
      "ExecutionFailed",
    ]);
  });

  it("are aborted with their stopped parent", async () => {
    const stateMachineArn = await createMachine(harness, documentMap());
    const started = await harness.client.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ keys: ["slow"] }) }),
    );
    const executionArn = started.executionArn as string;
    let mapRunArn: string | undefined;
    while (mapRunArn === undefined || (await childrenOf(mapRunArn)).length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const listed = await harness.client.send(new ListMapRunsCommand({ executionArn }));
      mapRunArn = listed.mapRuns?.[0]?.mapRunArn;
    }
    await harness.client.send(new StopExecutionCommand({ executionArn }));
    const [child] = await childrenOf(mapRunArn);

    expect(child.status).toBe("ABORTED");
    expect((await describeMapRun(mapRunArn)).status).toBe("ABORTED");
    expect((await historyTypes(executionArn)).slice(-3)).toEqual([
      "MapRunAborted",
      "MapStateAborted",
      "ExecutionAborted",
    ]);
  });

  it("cannot be redriven on their own", async () => {
    failingKeys = new Set(["bad"]);
    const result = await runToEnd(harness, documentMap(), { keys: ["bad"] });
    const [child] = await childrenOf(await onlyMapRun(result.executionArn));

    await expect(
      harness.client.send(new RedriveExecutionCommand({ executionArn: child.executionArn })),
    ).rejects.toMatchObject({ name: "ExecutionNotRedrivable" });
  });
});

describe("Map Run redrive", () => {
  it("reruns only the failed children", async () => {
    failingKeys = new Set(["b"]);
    const result = await runToEnd(harness, documentMap(), { keys: ["a", "b", "c"] });
    const mapRunArn = await onlyMapRun(result.executionArn);
    const [failedChild] = await childrenOf(mapRunArn, "FAILED");
    failingKeys = new Set();
    const callsBefore = harness.invoker.calls.length;

    await harness.client.send(new RedriveExecutionCommand({ executionArn: result.executionArn }));
    await harness.service.waitForExecution(result.executionArn);
    const parent = await harness.client.send(
      new DescribeExecutionCommand({ executionArn: result.executionArn }),
    );
    const redrivenChild = await harness.client.send(
      new DescribeExecutionCommand({ executionArn: failedChild.executionArn }),
    );
    const parentEvents = await historyOf(result.executionArn);
    const redriven = parentEvents.find((event) => event.type === "MapRunRedriven");

    expect(parent.status).toBe("SUCCEEDED");
    expect(JSON.parse(parent.output as string)).toEqual([
      { key: "a", pages: 1 },
      { key: "b", pages: 1 },
      { key: "c", pages: 1 },
    ]);
    expect(harness.invoker.calls.slice(callsBefore).map((call) => call.event)).toEqual([
      { key: "b" },
    ]);
    expect(redriven?.mapRunRedrivenEventDetails).toEqual({ mapRunArn, redriveCount: 1 });
    expect(redrivenChild.status).toBe("SUCCEEDED");
    expect(redrivenChild.redriveCount).toBe(1);
    expect(await historyTypes(failedChild.executionArn as string)).toContain("ExecutionRedriven");
    expect(await childrenOf(mapRunArn)).toHaveLength(3);
    const described = await describeMapRun(mapRunArn);
    expect(described.status).toBe("SUCCEEDED");
    expect(described.redriveCount).toBe(1);
    expect(described.redriveDate).toBeInstanceOf(Date);
  });

  it("starts a new Map Run on each Retry", async () => {
    failingKeys = new Set(["b"]);
    const definition = documentMap({
      Retry: [{ ErrorEquals: ["States.ALL"], IntervalSeconds: 1, MaxAttempts: 1 }],
    });
    const result = await runToEnd(harness, definition, { keys: ["a", "b"] });
    const listed = await harness.client.send(
      new ListMapRunsCommand({ executionArn: result.executionArn }),
    );

    expect(listed.mapRuns).toHaveLength(2);
    expect(listed.mapRuns?.[0].mapRunArn).not.toBe(listed.mapRuns?.[1].mapRunArn);
  });
});

describe("nested Map Runs", () => {
  it("give a child execution its own Map Run", async () => {
    const inner = documentMap();
    const outer = {
      StartAt: "Batches",
      States: {
        Batches: {
          Type: "Map",
          ItemsPath: "$.batches",
          ItemProcessor: {
            ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
            ...inner,
          },
          End: true,
        },
      },
    };
    const result = await runToEnd(harness, outer, { batches: [{ keys: ["a", "bb"] }] });
    const outerRun = await onlyMapRun(result.executionArn);
    const [outerChild] = await childrenOf(outerRun);
    const innerRun = await onlyMapRun(outerChild.executionArn as string);
    const innerChildren = await childrenOf(innerRun);

    expect(result.status).toBe("SUCCEEDED");
    expect(JSON.parse(result.output as string)).toEqual([
      [
        { key: "a", pages: 1 },
        { key: "bb", pages: 2 },
      ],
    ]);
    expect(innerRun).toContain(`:mapRun:${result.stateMachineArn?.split(":").pop()}/Batches/Docs:`);
    expect(innerChildren).toHaveLength(2);
    expect(innerChildren[0].executionArn).toContain("/Batches/Docs:");
  });
});

describe("Map Runs after a restart", () => {
  it("are still described and listed", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "warmstate-map-runs-"));
    try {
      const first = await startHarness({
        dataDir,
        functions: { analyze: (event) => event },
      });
      const stateMachineArn = await createMachine(first, documentMap());
      const started = await first.client.send(
        new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ keys: ["a"] }) }),
      );
      const executionArn = started.executionArn as string;
      await first.service.waitForExecution(executionArn);
      await first.close({ keepData: true });

      const second = await startHarness({ dataDir });
      try {
        const listed = await second.client.send(new ListMapRunsCommand({ executionArn }));
        const mapRunArn = listed.mapRuns?.[0].mapRunArn as string;
        const described = await second.client.send(new DescribeMapRunCommand({ mapRunArn }));
        const children = await second.client.send(new ListExecutionsCommand({ mapRunArn }));
        const history = await second.client.send(
          new GetExecutionHistoryCommand({
            executionArn: children.executions?.[0].executionArn,
          }),
        );

        expect(described.status).toBe("SUCCEEDED");
        expect(described.executionCounts?.succeeded).toBe(1);
        expect(children.executions).toHaveLength(1);
        expect(history.events?.at(-1)?.type).toBe("ExecutionSucceeded");
      } finally {
        await second.close({ keepData: true });
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
