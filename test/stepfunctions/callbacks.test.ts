/**
 * `.waitForTaskToken` tasks and SendTaskSuccess, SendTaskFailure and
 * SendTaskHeartbeat.
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualClock } from "../../simulator/clock.ts";
import { createMachine, type Harness, startHarness } from "./harness.ts";

const tokens: ((token: string) => void)[] = [];
/** Resolves with the next task token a `notify` invocation receives. */
const nextToken = () => new Promise<string>((resolve) => tokens.push(resolve));

const callbackMachine = (extra: Record<string, unknown> = {}) => ({
  StartAt: "Wait",
  States: {
    Wait: {
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
      Parameters: {
        FunctionName: "notify",
        Payload: { "token.$": "$$.Task.Token", "job.$": "$.job" },
      },
      End: true,
      ...extra,
    },
  },
});

let harness: Harness;
let clock: VirtualClock;
beforeAll(async () => {
  clock = new VirtualClock({ start: Date.parse("2026-01-01T00:00:00Z"), speed: 1, jumpIdle: true });
  harness = await startHarness({
    clock,
    functions: {
      notify: (event) => {
        tokens.shift()?.((event as { token: string }).token);
        return { queued: true };
      },
    },
  });
});
afterAll(async () => {
  await harness.close();
  clock.stop();
});

async function start(definition: unknown, input: unknown): Promise<string> {
  const machine = await createMachine(harness, definition);
  const started = await harness.client.send(
    new StartExecutionCommand({ stateMachineArn: machine, input: JSON.stringify(input) }),
  );
  return started.executionArn as string;
}

describe("task token callbacks", () => {
  it("completes the task with SendTaskSuccess", async () => {
    const token = nextToken();
    const executionArn = await start(callbackMachine(), { job: 7 });
    const taskToken = await token;

    await harness.client.send(new SendTaskHeartbeatCommand({ taskToken }));
    await harness.client.send(
      new SendTaskSuccessCommand({ taskToken, output: '{"result":"done"}' }),
    );
    await harness.service.waitForExecution(executionArn);

    const described = await harness.client.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe("SUCCEEDED");
    expect(JSON.parse(described.output as string)).toEqual({ result: "done" });
    const history = await harness.client.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(history.events?.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "TaskStateEntered",
      "TaskScheduled",
      "TaskStarted",
      "TaskSubmitted",
      "TaskSucceeded",
      "TaskStateExited",
      "ExecutionSucceeded",
    ]);
    expect(history.events?.[2].taskScheduledEventDetails?.resource).toBe("invoke.waitForTaskToken");
  });

  it("fails the task with SendTaskFailure", async () => {
    const token = nextToken();
    const executionArn = await start(callbackMachine(), { job: 8 });
    await harness.client.send(
      new SendTaskFailureCommand({
        taskToken: await token,
        error: "JobFailed",
        cause: "disk full",
      }),
    );
    await harness.service.waitForExecution(executionArn);

    const described = await harness.client.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe("FAILED");
    expect(described.error).toBe("JobFailed");
    expect(described.cause).toBe("disk full");
  });

  it("times out without a heartbeat", async () => {
    const token = nextToken();
    const executionArn = await start(callbackMachine({ HeartbeatSeconds: 60 }), { job: 9 });
    const taskToken = await token;
    await harness.service.waitForExecution(executionArn);

    const described = await harness.client.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe("FAILED");
    expect(described.error).toBe("States.HeartbeatTimeout");
    const late = await harness.client
      .send(new SendTaskSuccessCommand({ taskToken, output: "{}" }))
      .catch((error: Error) => error);
    expect((late as Error).name).toBe("TaskTimedOut");
  });

  it("rejects an unknown token", async () => {
    const error = await harness.client
      .send(new SendTaskSuccessCommand({ taskToken: "not-a-token", output: "{}" }))
      .catch((failure: Error) => failure);
    expect((error as Error).name).toBe("TaskDoesNotExist");
  });

  it("rejects output that is not JSON", async () => {
    const token = nextToken();
    const executionArn = await start(callbackMachine(), { job: 10 });
    const taskToken = await token;
    const error = await harness.client
      .send(new SendTaskSuccessCommand({ taskToken, output: "nope" }))
      .catch((failure: Error) => failure);
    expect((error as Error).name).toBe("InvalidOutput");
    await harness.client.send(new SendTaskSuccessCommand({ taskToken, output: "{}" }));
    await harness.service.waitForExecution(executionArn);
  });
});
