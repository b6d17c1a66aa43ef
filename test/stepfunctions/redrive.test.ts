/**
 * RedriveExecution: the same execution ARN restarts from the failed state,
 * only unfinished work runs again, and $$.Execution.RedriveCount counts.
 * https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  RedriveExecutionCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, namedError, runToEnd, startHarness } from "./harness.ts";

const FN = "arn:aws:lambda:us-east-1:123456789012:function:";
const failedOnce = new Set<string>();

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({
    functions: {
      failFirst: (event) => {
        const { key } = event as { key: string };
        if (!failedOnce.has(key)) {
          failedOnce.add(key);
          throw namedError("Transient", `first call for ${key}`);
        }
        return event;
      },
    },
  });
});
afterAll(async () => harness.close());

async function redrive(executionArn: string) {
  await harness.client.send(new RedriveExecutionCommand({ executionArn }));
  await harness.service.waitForExecution(executionArn);
  return harness.client.send(new DescribeExecutionCommand({ executionArn }));
}

describe("redrive", () => {
  it("restarts the failed state of the same execution", async () => {
    const definition = {
      StartAt: "A",
      States: {
        A: { Type: "Pass", Next: "T" },
        T: { Type: "Task", Resource: `${FN}failFirst`, Next: "B" },
        B: {
          Type: "Pass",
          Parameters: { "redriveCount.$": "$$.Execution.RedriveCount", "key.$": "$.key" },
          End: true,
        },
      },
    };
    const failed = await runToEnd(harness, definition, { key: "task-1" });
    expect(failed.status).toBe("FAILED");
    expect(failed.redriveStatus).toBe("REDRIVABLE");

    const after = await redrive(failed.executionArn);
    expect(after.status).toBe("SUCCEEDED");
    expect(after.redriveCount).toBe(1);
    expect(after.executionArn).toBe(failed.executionArn);
    expect(JSON.parse(after.output as string)).toEqual({ redriveCount: 1, key: "task-1" });

    const history = await harness.client.send(
      new GetExecutionHistoryCommand({ executionArn: failed.executionArn }),
    );
    const types = history.events?.map((event) => event.type) ?? [];
    expect(types.filter((type) => type === "PassStateEntered")).toHaveLength(2);
    const redriven = history.events?.find((event) => event.type === "ExecutionRedriven");
    expect(redriven?.executionRedrivenEventDetails).toEqual({ redriveCount: 1 });
    expect(types.indexOf("ExecutionRedriven")).toBe(types.indexOf("ExecutionFailed") + 1);
    expect(types[types.indexOf("ExecutionRedriven") + 1]).toBe("TaskStateEntered");
  });

  it("re-runs only the failed Map iterations", async () => {
    const definition = {
      StartAt: "M",
      States: {
        M: {
          Type: "Map",
          ItemProcessor: {
            StartAt: "T",
            States: { T: { Type: "Task", Resource: `${FN}failFirst`, End: true } },
          },
          End: true,
        },
      },
    };
    const items = [{ key: "ok-0" }, { key: "ok-1" }, { key: "map-bad" }];
    for (const item of items.slice(0, 2)) failedOnce.add(item.key);
    const failed = await runToEnd(harness, definition, items);
    expect(failed.status).toBe("FAILED");
    const callsBefore = harness.invoker.calls.length;

    const after = await redrive(failed.executionArn);
    expect(after.status).toBe("SUCCEEDED");
    expect(JSON.parse(after.output as string)).toEqual(items);
    const rerun = harness.invoker.calls
      .slice(callsBefore)
      .map((call) => (call.event as { key: string }).key);
    expect(rerun).toEqual(["map-bad"]);
  });

  it("rejects a succeeded execution", async () => {
    const done = await runToEnd(harness, {
      StartAt: "P",
      States: { P: { Type: "Pass", End: true } },
    });
    expect(done.redriveStatus).toBe("NOT_REDRIVABLE");
    const error = await harness.client
      .send(new RedriveExecutionCommand({ executionArn: done.executionArn }))
      .catch((failure: Error) => failure);
    expect((error as Error).name).toBe("ExecutionNotRedrivable");
  });
});
