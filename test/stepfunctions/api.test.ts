/**
 * The Step Functions API through the real SFNClient: operations, their
 * error names and the AWS JSON 1.0 error shape.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html
 */
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  StartExecutionCommand,
  StartSyncExecutionCommand,
  StopExecutionCommand,
  TestStateCommand,
  UpdateStateMachineCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMachine, type Harness, namedError, ROLE_ARN, startHarness } from "./harness.ts";

const PASS_MACHINE = { StartAt: "P", States: { P: { Type: "Pass", End: true } } };
const WAIT_MACHINE = { StartAt: "W", States: { W: { Type: "Wait", Seconds: 3600, End: true } } };

/** Runs `action` and returns the error it raised. */
async function errorOf(
  action: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await action;
  } catch (error) {
    return error as Error;
  }
  throw new Error("the request succeeded, but an error was expected");
}

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({
    functions: {
      fail: () => {
        throw namedError("Boom", "no");
      },
    },
  });
});
afterAll(async () => harness.close());

describe("state machine operations", () => {
  it("creates, describes, updates and deletes", async () => {
    const created = await harness.client.send(
      new CreateStateMachineCommand({
        name: "crud",
        definition: JSON.stringify(PASS_MACHINE),
        roleArn: ROLE_ARN,
      }),
    );
    expect(created.stateMachineArn).toBe("arn:aws:states:us-east-1:123456789012:stateMachine:crud");
    expect(created.creationDate).toBeInstanceOf(Date);

    const described = await harness.client.send(
      new DescribeStateMachineCommand({ stateMachineArn: created.stateMachineArn }),
    );
    expect(described.name).toBe("crud");
    expect(described.type).toBe("STANDARD");
    expect(described.status).toBe("ACTIVE");
    expect(JSON.parse(described.definition as string)).toEqual(PASS_MACHINE);

    const updated = await harness.client.send(
      new UpdateStateMachineCommand({
        stateMachineArn: created.stateMachineArn,
        definition: JSON.stringify(WAIT_MACHINE),
      }),
    );
    expect(updated.updateDate).toBeInstanceOf(Date);
    const after = await harness.client.send(
      new DescribeStateMachineCommand({ stateMachineArn: created.stateMachineArn }),
    );
    expect(JSON.parse(after.definition as string)).toEqual(WAIT_MACHINE);

    await harness.client.send(
      new DeleteStateMachineCommand({ stateMachineArn: created.stateMachineArn }),
    );
    const missing = await errorOf(
      harness.client.send(
        new DescribeStateMachineCommand({ stateMachineArn: created.stateMachineArn }),
      ),
    );
    expect(missing.name).toBe("StateMachineDoesNotExist");
  });

  it("returns the same ARN for an identical create", async () => {
    const request = { name: "same", definition: JSON.stringify(PASS_MACHINE), roleArn: ROLE_ARN };
    const first = await harness.client.send(new CreateStateMachineCommand(request));
    const second = await harness.client.send(new CreateStateMachineCommand(request));
    expect(second.stateMachineArn).toBe(first.stateMachineArn);
  });

  it("rejects a different definition under a used name", async () => {
    await harness.client.send(
      new CreateStateMachineCommand({
        name: "taken",
        definition: JSON.stringify(PASS_MACHINE),
        roleArn: ROLE_ARN,
      }),
    );
    const error = await errorOf(
      harness.client.send(
        new CreateStateMachineCommand({
          name: "taken",
          definition: JSON.stringify(WAIT_MACHINE),
          roleArn: ROLE_ARN,
        }),
      ),
    );
    expect(error.name).toBe("StateMachineAlreadyExists");
  });

  it("rejects a missing transition target", async () => {
    const definition = { StartAt: "A", States: { A: { Type: "Pass", Next: "Nowhere" } } };
    const error = await errorOf(
      harness.client.send(
        new CreateStateMachineCommand({
          name: "bad",
          definition: JSON.stringify(definition),
          roleArn: ROLE_ARN,
        }),
      ),
    );
    expect(error.name).toBe("InvalidDefinition");
    expect(error.message).toContain("MISSING_TRANSITION_TARGET");
    expect(error.message).toContain("/States/A/Next");
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });

  it("rejects definitions that break the ASL rules", async () => {
    const broken = [
      "not json",
      { StartAt: "A", States: { A: { Type: "Pass" } } },
      { StartAt: "A", States: { A: { Type: "Task", End: true } } },
      { StartAt: "A", States: { A: { Type: "Pass", End: true }, B: { Type: "Pass", End: true } } },
      { StartAt: "A", States: { A: { Type: "Wait", End: true } } },
      { StartAt: "A", States: { A: { Type: "Pass", End: true, Retry: [] } } },
      {
        StartAt: "A",
        States: {
          A: {
            Type: "Task",
            Resource: "arn:aws:states:::lambda:invoke",
            End: true,
            Catch: [{ ErrorEquals: ["States.ALL", "X"], Next: "A" }],
          },
        },
      },
      {
        StartAt: "A",
        States: { A: { Type: "Choice", Choices: [{ Variable: "$.a", Next: "A" }] } },
      },
      {
        StartAt: "A",
        States: { A: { Type: "Pass", Parameters: { "x.$": "not a path" }, End: true } },
      },
      { StartAt: "A", States: { A: { Type: "Magic", End: true } } },
    ];
    for (const definition of broken) {
      const text = typeof definition === "string" ? definition : JSON.stringify(definition);
      const error = await errorOf(
        harness.client.send(
          new CreateStateMachineCommand({ name: "broken", definition: text, roleArn: ROLE_ARN }),
        ),
      );
      expect(error.name, text).toBe("InvalidDefinition");
    }
  });

  it("rejects an invalid name and role", async () => {
    const name = await errorOf(
      harness.client.send(
        new CreateStateMachineCommand({
          name: "has space",
          definition: JSON.stringify(PASS_MACHINE),
          roleArn: ROLE_ARN,
        }),
      ),
    );
    expect(name.name).toBe("InvalidName");
    const role = await errorOf(
      harness.client.send(
        new CreateStateMachineCommand({
          name: "ok",
          definition: JSON.stringify(PASS_MACHINE),
          roleArn: "role",
        }),
      ),
    );
    expect(role.name).toBe("InvalidArn");
  });

  it("pages ListStateMachines", async () => {
    for (let i = 0; i < 3; i++) await createMachine(harness, PASS_MACHINE);
    const first = await harness.client.send(new ListStateMachinesCommand({ maxResults: 2 }));
    expect(first.stateMachines).toHaveLength(2);
    expect(first.nextToken).toBeDefined();
    const second = await harness.client.send(
      new ListStateMachinesCommand({ maxResults: 2, nextToken: first.nextToken }),
    );
    const names = new Set(
      [...(first.stateMachines ?? []), ...(second.stateMachines ?? [])].map(
        (machine) => machine.name,
      ),
    );
    expect(names.size).toBe(
      (first.stateMachines?.length ?? 0) + (second.stateMachines?.length ?? 0),
    );
  });

  it("rejects an invalid ARN", async () => {
    const error = await errorOf(
      harness.client.send(new DescribeStateMachineCommand({ stateMachineArn: "arn:nope" })),
    );
    expect(error.name).toBe("InvalidArn");
  });
});

describe("execution operations", () => {
  it("returns the running execution for the same name and input", async () => {
    const machine = await createMachine(harness, WAIT_MACHINE);
    const first = await harness.client.send(
      new StartExecutionCommand({ stateMachineArn: machine, name: "once", input: '{"a":1}' }),
    );
    const again = await harness.client.send(
      new StartExecutionCommand({ stateMachineArn: machine, name: "once", input: '{"a":1}' }),
    );
    expect(again.executionArn).toBe(first.executionArn);

    const other = await errorOf(
      harness.client.send(
        new StartExecutionCommand({ stateMachineArn: machine, name: "once", input: '{"a":2}' }),
      ),
    );
    expect(other.name).toBe("ExecutionAlreadyExists");
    await harness.client.send(new StopExecutionCommand({ executionArn: first.executionArn }));
  });

  it("rejects a reused name once the execution ended", async () => {
    const machine = await createMachine(harness, PASS_MACHINE);
    const first = await harness.client.send(
      new StartExecutionCommand({ stateMachineArn: machine, name: "done", input: "{}" }),
    );
    await harness.service.waitForExecution(first.executionArn as string);
    const error = await errorOf(
      harness.client.send(
        new StartExecutionCommand({ stateMachineArn: machine, name: "done", input: "{}" }),
      ),
    );
    expect(error.name).toBe("ExecutionAlreadyExists");
  });

  it("rejects input that is not JSON", async () => {
    const machine = await createMachine(harness, PASS_MACHINE);
    const error = await errorOf(
      harness.client.send(new StartExecutionCommand({ stateMachineArn: machine, input: "{oops" })),
    );
    expect(error.name).toBe("InvalidExecutionInput");
  });

  it("rejects input over 256 KiB", async () => {
    const machine = await createMachine(harness, PASS_MACHINE);
    const input = JSON.stringify({ data: "x".repeat(262_144) });
    const error = await errorOf(
      harness.client.send(new StartExecutionCommand({ stateMachineArn: machine, input })),
    );
    expect(error.name).toBe("ValidationException");
  });

  it("reports an unknown execution", async () => {
    const error = await errorOf(
      harness.client.send(
        new DescribeExecutionCommand({
          executionArn: "arn:aws:states:us-east-1:123456789012:execution:nope:nope",
        }),
      ),
    );
    expect(error.name).toBe("ExecutionDoesNotExist");
  });

  it("stops a running execution", async () => {
    const machine = await createMachine(harness, WAIT_MACHINE);
    const started = await harness.client.send(
      new StartExecutionCommand({ stateMachineArn: machine }),
    );
    const stopped = await harness.client.send(
      new StopExecutionCommand({
        executionArn: started.executionArn,
        error: "Manual",
        cause: "operator stop",
      }),
    );
    expect(stopped.stopDate).toBeInstanceOf(Date);

    const described = await harness.client.send(
      new DescribeExecutionCommand({ executionArn: started.executionArn }),
    );
    expect(described.status).toBe("ABORTED");
    const history = await harness.client.send(
      new GetExecutionHistoryCommand({ executionArn: started.executionArn }),
    );
    const types = history.events?.map((event) => event.type);
    expect(types).toEqual([
      "ExecutionStarted",
      "WaitStateEntered",
      "WaitStateAborted",
      "ExecutionAborted",
    ]);
    const aborted = history.events?.find((event) => event.type === "ExecutionAborted");
    expect(aborted?.executionAbortedEventDetails).toEqual({
      error: "Manual",
      cause: "operator stop",
    });
  });

  it("filters and pages ListExecutions", async () => {
    const machine = await createMachine(harness, PASS_MACHINE);
    for (let i = 0; i < 3; i++) {
      const started = await harness.client.send(
        new StartExecutionCommand({ stateMachineArn: machine }),
      );
      await harness.service.waitForExecution(started.executionArn as string);
    }
    const page = await harness.client.send(
      new ListExecutionsCommand({
        stateMachineArn: machine,
        statusFilter: "SUCCEEDED",
        maxResults: 2,
      }),
    );
    expect(page.executions).toHaveLength(2);
    expect(page.executions?.every((execution) => execution.status === "SUCCEEDED")).toBe(true);
    const rest = await harness.client.send(
      new ListExecutionsCommand({
        stateMachineArn: machine,
        statusFilter: "SUCCEEDED",
        nextToken: page.nextToken,
      }),
    );
    expect(rest.executions).toHaveLength(1);
    const failed = await harness.client.send(
      new ListExecutionsCommand({ stateMachineArn: machine, statusFilter: "FAILED" }),
    );
    expect(failed.executions).toHaveLength(0);
  });

  it("runs an Express machine synchronously", async () => {
    const machine = await createMachine(
      harness,
      { StartAt: "P", States: { P: { Type: "Pass", Result: { ok: true }, End: true } } },
      "EXPRESS",
    );
    const result = await harness.client.send(
      new StartSyncExecutionCommand({ stateMachineArn: machine, input: "{}" }),
    );
    expect(result.status).toBe("SUCCEEDED");
    expect(JSON.parse(result.output as string)).toEqual({ ok: true });
    expect(result.executionArn).toContain(":express:");
  });

  it("reports a failed synchronous Express execution", async () => {
    const machine = await createMachine(
      harness,
      { StartAt: "F", States: { F: { Type: "Fail", Error: "E", Cause: "C" } } },
      "EXPRESS",
    );
    const result = await harness.client.send(
      new StartSyncExecutionCommand({ stateMachineArn: machine }),
    );
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("E");
    expect(result.cause).toBe("C");
  });

  it("rejects StartSyncExecution on a Standard machine", async () => {
    const machine = await createMachine(harness, PASS_MACHINE);
    const error = await errorOf(
      harness.client.send(new StartSyncExecutionCommand({ stateMachineArn: machine })),
    );
    expect(error.name).toBe("StateMachineTypeNotSupported");
  });
});

describe("TestState", () => {
  it("returns the output and next state", async () => {
    const result = await harness.client.send(
      new TestStateCommand({
        definition: JSON.stringify({ Type: "Pass", Parameters: { "v.$": "$.a" }, Next: "Later" }),
        roleArn: ROLE_ARN,
        input: '{"a":5}',
      }),
    );
    expect(result.status).toBe("SUCCEEDED");
    expect(JSON.parse(result.output as string)).toEqual({ v: 5 });
    expect(result.nextState).toBe("Later");
  });

  it("reports a retriable error", async () => {
    const definition = {
      Type: "Task",
      Resource: "arn:aws:lambda:us-east-1:123456789012:function:fail",
      Retry: [{ ErrorEquals: ["Boom"] }],
      End: true,
    };
    const result = await harness.client.send(
      new TestStateCommand({
        definition: JSON.stringify(definition),
        roleArn: ROLE_ARN,
        input: "{}",
      }),
    );
    expect(result.status).toBe("RETRIABLE");
    expect(result.error).toBe("Boom");
  });

  it("reports a caught error", async () => {
    const definition = {
      Type: "Task",
      Resource: "arn:aws:lambda:us-east-1:123456789012:function:fail",
      Catch: [{ ErrorEquals: ["Boom"], Next: "Handler" }],
      End: true,
    };
    const result = await harness.client.send(
      new TestStateCommand({
        definition: JSON.stringify(definition),
        roleArn: ROLE_ARN,
        input: "{}",
      }),
    );
    expect(result.status).toBe("CAUGHT_ERROR");
    expect(result.nextState).toBe("Handler");
    expect(JSON.parse(result.output as string).Error).toBe("Boom");
  });

  it("reports a failed state", async () => {
    const result = await harness.client.send(
      new TestStateCommand({
        definition: JSON.stringify({ Type: "Fail", Error: "X", Cause: "Y" }),
        roleArn: ROLE_ARN,
      }),
    );
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("X");
    expect(result.cause).toBe("Y");
  });
});

describe("AWS JSON 1.0 wire format", () => {
  it("sends errors as __type and message", async () => {
    const address = harness.app.server.address() as { port: number };
    const response = await fetch(`http://127.0.0.1:${address.port}/`, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": "AWSStepFunctions.DescribeExecution",
      },
      body: JSON.stringify({ executionArn: "arn:aws:states:us-east-1:123456789012:execution:m:e" }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/x-amz-json-1.0");
    expect(await response.json()).toEqual({
      __type: "ExecutionDoesNotExist",
      message: "Execution Does Not Exist: 'arn:aws:states:us-east-1:123456789012:execution:m:e'",
    });
  });

  it("rejects a missing required field", async () => {
    const address = harness.app.server.address() as { port: number };
    const response = await fetch(`http://127.0.0.1:${address.port}/`, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": "AWSStepFunctions.StartExecution",
      },
      body: "{}",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      __type: "ValidationException",
      message:
        "1 validation error detected: Value at 'stateMachineArn' failed to satisfy constraint: Member must not be null",
    });
  });

  it("rejects maxResults over 1000", async () => {
    const machine = await createMachine(harness, PASS_MACHINE);
    const error = await errorOf(
      harness.client.send(
        new ListExecutionsCommand({ stateMachineArn: machine, maxResults: 1001 }),
      ),
    );
    expect(error.name).toBe("ValidationException");
    expect(error.message).toContain("maxResults");
  });

  it("rejects an unknown operation", async () => {
    const address = harness.app.server.address() as { port: number };
    const response = await fetch(`http://127.0.0.1:${address.port}/`, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": "AWSStepFunctions.Teleport",
      },
      body: "{}",
    });
    expect(response.status).toBe(400);
    expect((await response.json()).__type).toBe("UnknownOperationException");
  });
});
