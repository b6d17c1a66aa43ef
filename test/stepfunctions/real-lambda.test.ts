import { PutFunctionConcurrencyCommand } from "@aws-sdk/client-lambda";
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ContractHarness, createFixtureFunction, startHarness } from "../contract/helpers.ts";

const ROLE = "arn:aws:iam::000000000000:role/states";
const functionArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

/**
 * State machines whose tasks call the real Lambda service: process sandboxes,
 * warm environments, throttles and timeouts reach Retry and Catch as they
 * happen on AWS.
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
 * https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
 */
describe("step functions with the real Lambda service", () => {
  let harness: ContractHarness;
  let sfn: SFNClient;

  beforeAll(async () => {
    harness = await startHarness("process");
    sfn = new SFNClient({
      endpoint: harness.simulator.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
  });

  afterAll(async () => {
    await harness?.simulator.close();
  });

  async function run(definition: object, input: unknown) {
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: `machine-${Math.random().toString(36).slice(2, 10)}`,
        roleArn: ROLE,
        definition: JSON.stringify(definition),
      }),
    );
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
    );
    for (;;) {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (execution.status !== "RUNNING") return execution;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it("runs the pipeline shape over warm environments", async () => {
    const split = await createFixtureFunction(harness, "../pipeline/fake-split");
    const analyze = await createFixtureFunction(harness, "../pipeline/fake-analyze");
    const definition = {
      StartAt: "Documents",
      States: {
        Documents: {
          Type: "Map",
          ItemsPath: "$.documents",
          MaxConcurrency: 1,
          ItemProcessor: {
            StartAt: "Split",
            States: {
              Split: {
                Type: "Task",
                Resource: "arn:aws:states:::lambda:invoke",
                Parameters: { FunctionName: split, "Payload.$": "$" },
                OutputPath: "$.Payload",
                Next: "Pages",
              },
              Pages: {
                Type: "Map",
                ItemsPath: "$.pages",
                MaxConcurrency: 1,
                ItemProcessor: {
                  StartAt: "Analyze",
                  States: { Analyze: { Type: "Task", Resource: functionArn(analyze), End: true } },
                },
                End: true,
              },
            },
          },
          End: true,
        },
      },
    };

    const execution = await run(definition, {
      documents: [
        { doc: "a", pageCount: 2 },
        { doc: "b", pageCount: 3 },
      ],
    });

    expect(execution.status).toBe("SUCCEEDED");
    const output = JSON.parse(execution.output ?? "null");
    expect(output.map((pages: unknown[]) => pages.length)).toEqual([2, 3]);
    expect(output[1][2]).toEqual({ doc: "b", page: 3, analyzedInThisEnvironment: 5 });
    const records = harness.simulator.lambda.invocations(analyze);
    expect(records).toHaveLength(5);
    expect(records.filter((record) => record.coldStart)).toHaveLength(1);
    expect(new Set(records.map((record) => record.caller?.executionArn))).toEqual(
      new Set([execution.executionArn]),
    );
    expect(records.map((record) => record.caller?.redriveCount)).toEqual([0, 0, 0, 0, 0]);
    const history = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: execution.executionArn }),
    );
    const types = new Set(history.events?.map((event) => event.type));
    expect(types).toContain("TaskScheduled");
    expect(types).toContain("LambdaFunctionScheduled");
    expect(types).toContain("MapIterationSucceeded");
  });

  it("keeps a function error's type and payload", async () => {
    const split = await createFixtureFunction(harness, "../pipeline/fake-split");
    const definition = {
      StartAt: "Split",
      States: {
        Split: {
          Type: "Task",
          Resource: functionArn(split),
          Catch: [{ ErrorEquals: ["InvalidPDFError"], ResultPath: "$.error", Next: "Caught" }],
          End: true,
        },
        Caught: { Type: "Pass", End: true },
      },
    };

    const execution = await run(definition, { doc: "bad", pageCount: -1 });

    expect(execution.status).toBe("SUCCEEDED");
    const { error } = JSON.parse(execution.output ?? "{}");
    expect(error.Error).toBe("InvalidPDFError");
    expect(JSON.parse(error.Cause)).toMatchObject({
      errorType: "InvalidPDFError",
      errorMessage: "document bad cannot be read",
    });
  });

  it("surfaces a throttle as Lambda.TooManyRequestsException", async () => {
    const name = await createFixtureFunction(harness, "counter");
    await harness.lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 0 }),
    );
    const definition = {
      StartAt: "Call",
      States: {
        Call: {
          Type: "Task",
          Resource: "arn:aws:states:::lambda:invoke",
          Parameters: { FunctionName: name, Payload: {} },
          Retry: [
            {
              ErrorEquals: ["Lambda.TooManyRequestsException"],
              IntervalSeconds: 1,
              MaxAttempts: 1,
            },
          ],
          Catch: [{ ErrorEquals: ["States.ALL"], Next: "Caught" }],
          End: true,
        },
        Caught: { Type: "Pass", End: true },
      },
    };

    const execution = await run(definition, {});

    expect(execution.status).toBe("SUCCEEDED");
    expect(JSON.parse(execution.output ?? "{}").Error).toBe("Lambda.TooManyRequestsException");
    const history = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: execution.executionArn }),
    );
    const failures = history.events?.filter((event) => event.type === "TaskFailed") ?? [];
    expect(failures).toHaveLength(2);
  });

  it("surfaces an unknown function as Lambda.ResourceNotFoundException", async () => {
    const definition = {
      StartAt: "Call",
      States: {
        Call: {
          Type: "Task",
          Resource: "arn:aws:states:::lambda:invoke",
          Parameters: { FunctionName: "no-such-function", Payload: {} },
          End: true,
        },
      },
    };

    const execution = await run(definition, {});

    expect(execution.status).toBe("FAILED");
    expect(execution.error).toBe("Lambda.ResourceNotFoundException");
  });

  it("surfaces a function timeout as Sandbox.Timedout", async () => {
    const name = await createFixtureFunction(harness, "sleeper", { timeout: 1 });
    const definition = {
      StartAt: "Call",
      States: { Call: { Type: "Task", Resource: functionArn(name), End: true } },
    };

    const execution = await run(definition, { ms: 3_000 });

    expect(execution.status).toBe("FAILED");
    expect(execution.error).toBe("Sandbox.Timedout");
    expect(execution.cause).toMatch(/Task timed out after 1\.00 seconds/);
  });
});
