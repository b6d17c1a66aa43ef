import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  CreateFunctionCommand,
  InvokeCommand,
  PutFunctionConcurrencyCommand,
  PutFunctionEventInvokeConfigCommand,
} from "@aws-sdk/client-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VirtualClock } from "../../simulator/clock.ts";
import type { DestinationRecord } from "../../simulator/lambda/async/destinations.ts";
import { FUNCTION_FIXTURES, type Stack, startStack } from "./support/stack.ts";

const ROLE = "arn:aws:iam::000000000000:role/lambda-role";

let stack: Stack;
let clock: VirtualClock;

async function createFunction(name: string, fixture: string): Promise<void> {
  await stack.lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: "nodejs20.x",
      Role: ROLE,
      Handler: "index.handler",
      Code: { S3Bucket: "hot-reload", S3Key: path.join(FUNCTION_FIXTURES, fixture) },
    }),
  );
}

async function invokeEvent(name: string, event: unknown): Promise<string> {
  const output = await stack.lambda.send(
    new InvokeCommand({
      FunctionName: name,
      InvocationType: "Event",
      Payload: Buffer.from(JSON.stringify(event)),
    }),
  );
  expect(output.StatusCode).toBe(202);
  return output.$metadata.requestId ?? "";
}

function readRecords(file: string): DestinationRecord[] {
  const full = path.join(stack.dataDir, "destinations", `${file}.jsonl`);
  if (!existsSync(full)) return [];
  return readFileSync(full, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as DestinationRecord);
}

beforeEach(async () => {
  // Retry delays of one and two minutes play at once on a jumping virtual clock.
  clock = new VirtualClock({ start: Date.now(), speed: 1, jumpIdle: true });
  stack = await startStack({ clock });
});

afterEach(async () => {
  await stack?.close();
  clock?.stop();
});

describe("Event invocation retries", () => {
  it("retries a failing function twice, then sends it to OnFailure", async () => {
    await createFunction("fails", "api-fail");
    await stack.lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: "fails",
        DestinationConfig: { OnFailure: { Destination: "file:failures" } },
      }),
    );

    const requestId = await invokeEvent("fails", { order: 42 });
    await stack.queue.idle();

    const attempts = stack.service.invocations("fails");
    expect(attempts).toHaveLength(3);
    expect(attempts[1].startedAt - attempts[0].startedAt).toBeGreaterThanOrEqual(60_000);
    expect(attempts[2].startedAt - attempts[1].startedAt).toBeGreaterThanOrEqual(120_000);

    const [record] = readRecords("failures");
    expect(record.version).toBe("1.0");
    expect(record.requestContext.requestId).toBe(requestId);
    expect(record.requestContext.condition).toBe("RetriesExhausted");
    expect(record.requestContext.approximateInvokeCount).toBe(3);
    expect(record.requestContext.functionArn).toBe(
      "arn:aws:lambda:us-east-1:000000000000:function:fails:$LATEST",
    );
    expect(record.requestPayload).toEqual({ order: 42 });
    expect(record.responseContext).toEqual({
      statusCode: 200,
      executedVersion: "$LATEST",
      functionError: "Unhandled",
    });
    expect((record.responsePayload as { errorType: string }).errorType).toBe("DeliberateFailure");
  });

  it("stops after one attempt when MaximumRetryAttempts is 0", async () => {
    await createFunction("fails-once", "api-fail");
    await stack.lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: "fails-once",
        MaximumRetryAttempts: 0,
        DestinationConfig: { OnFailure: { Destination: "file:once" } },
      }),
    );

    await invokeEvent("fails-once", {});
    await stack.queue.idle();

    expect(stack.service.invocations("fails-once")).toHaveLength(1);
    expect(readRecords("once")[0].requestContext.approximateInvokeCount).toBe(1);
  });

  it("gives up with EventAgeExceeded when the next retry is too late", async () => {
    await createFunction("fails-young", "api-fail");
    await stack.lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: "fails-young",
        MaximumEventAgeInSeconds: 60,
        DestinationConfig: { OnFailure: { Destination: "file:aged" } },
      }),
    );

    await invokeEvent("fails-young", {});
    await stack.queue.idle();

    const [record] = readRecords("aged");
    expect(record.requestContext.condition).toBe("EventAgeExceeded");
    expect(record.requestContext.approximateInvokeCount).toBe(1);
  });

  it("requeues throttled events until they are too old", async () => {
    await createFunction("no-capacity", "api-echo");
    await stack.lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: "no-capacity",
        ReservedConcurrentExecutions: 0,
      }),
    );
    await stack.lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: "no-capacity",
        MaximumEventAgeInSeconds: 60,
        DestinationConfig: { OnFailure: { Destination: "file:throttled" } },
      }),
    );

    await invokeEvent("no-capacity", {});
    await stack.queue.idle();

    const [record] = readRecords("throttled");
    expect(record.requestContext.condition).toBe("EventAgeExceeded");
    expect(record.requestContext.approximateInvokeCount).toBe(0);
    expect(stack.queue.stats().retries).toBeGreaterThanOrEqual(5);
  });
});

describe("Event invocation destinations", () => {
  it("sends a success record to OnSuccess", async () => {
    await createFunction("succeeds", "api-echo");
    await stack.lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: "succeeds",
        DestinationConfig: { OnSuccess: { Destination: "file:done" } },
      }),
    );

    await invokeEvent("succeeds", { item: "a" });
    await stack.queue.idle();

    const [record] = readRecords("done");
    expect(record.requestContext.condition).toBe("Success");
    expect(record.requestContext.approximateInvokeCount).toBe(1);
    expect(record.responseContext.functionError).toBeUndefined();
    expect((record.responsePayload as { event: unknown }).event).toEqual({ item: "a" });
  });

  it("invokes a destination function with the record", async () => {
    await createFunction("fails-to-fn", "api-fail");
    await createFunction("collector", "api-echo");
    await stack.lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: "fails-to-fn",
        MaximumRetryAttempts: 0,
        DestinationConfig: {
          OnFailure: { Destination: "arn:aws:lambda:us-east-1:000000000000:function:collector" },
        },
      }),
    );

    const requestId = await invokeEvent("fails-to-fn", { n: 1 });
    await stack.queue.idle();

    expect(stack.service.invocations("collector")).toHaveLength(1);
    // The function's own output may reach the log store just after its invocation ends.
    let lines = stack.logs.query({ functionName: "collector", filterPattern: '"echo invoked"' });
    for (let attempt = 0; lines.length === 0 && attempt < 50; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      lines = stack.logs.query({ functionName: "collector", filterPattern: '"echo invoked"' });
    }
    expect(lines).toHaveLength(1);
    expect(lines[0].message).toContain(requestId);
    expect(lines[0].message).toContain("RetriesExhausted");
  });
});

describe("Event invocation queue", () => {
  it("runs every queued event once", async () => {
    await createFunction("many", "api-echo");

    const requestIds = new Set<string>();
    for (let index = 0; index < 20; index++) requestIds.add(await invokeEvent("many", { index }));
    await stack.queue.idle();

    expect(requestIds.size).toBe(20);
    expect(stack.service.invocations("many")).toHaveLength(20);
    expect(stack.queue.stats().succeeded).toBe(20);
  });
});
