import path from "node:path";
import {
  CreateFunctionCommand,
  InvokeCommand,
  UpdateFunctionConfigurationCommand,
} from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  requestIdOf,
  type WarmstateClient,
  warmstateClient,
} from "../../simulator/testing/index.ts";
import { FUNCTION_FIXTURES, type Stack, startStack } from "./support/stack.ts";

let stack: Stack;
let ws: WarmstateClient;

async function createFunction(
  name: string,
  fixture: string,
  tags?: Record<string, string>,
): Promise<void> {
  await stack.lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: "nodejs20.x",
      Role: "arn:aws:iam::000000000000:role/lambda-role",
      Handler: "index.handler",
      Code: { S3Bucket: "hot-reload", S3Key: path.join(FUNCTION_FIXTURES, fixture) },
      Tags: tags,
    }),
  );
}

function invoke(name: string, event: unknown = {}) {
  return stack.lambda.send(
    new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)) }),
  );
}

beforeAll(async () => {
  stack = await startStack();
  ws = await warmstateClient(stack.endpoint);
  await createFunction("reused", "api-echo", { "warmstate:keep-alive-seconds": "300" });
  await createFunction("parallel", "api-sleep");
});

afterAll(async () => {
  await stack?.close();
});

describe("warmstate testing client", () => {
  it("tells a cold start from a warm start", async () => {
    const first = await invoke("reused");
    const second = await invoke("reused");

    expect(await ws.wasCold(first)).toBe(true);
    expect(await ws.wasWarm(second)).toBe(true);
    expect(await ws.sameEnvironment(first, second)).toBe(true);
  });

  it("finds the environment that served a request", async () => {
    const output = await invoke("reused");

    const environment = await ws.environmentOf(output);

    expect(environment.functionName).toBe("reused");
    expect(environment.invocations).toBeGreaterThanOrEqual(1);
    expect(environment.environmentId).toBe((await ws.invocation(output)).environmentId);
  });

  it("sees every environment replaced after a configuration update", async () => {
    const before = await invoke("reused");
    await stack.lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: "reused",
        Environment: { Variables: { MARK: "new" } },
      }),
    );

    const after = await invoke("reused");

    expect(await ws.wasCold(after)).toBe(true);
    expect(await ws.sameEnvironment(before, after)).toBe(false);
  });

  it("returns the newest invocation of a function", async () => {
    const output = await invoke("reused");

    const last = await ws.lastInvocation("reused");

    expect(last.requestId).toBe(requestIdOf(output));
  });

  it("shows concurrent invocations in separate environments", async () => {
    const [a, b] = await Promise.all([
      invoke("parallel", { ms: 400 }),
      invoke("parallel", { ms: 400 }),
    ]);

    expect(await ws.sameEnvironment(a, b)).toBe(false);
    expect((await ws.liveEnvironments("parallel")).length).toBeGreaterThanOrEqual(2);
  });

  it("returns the log lines of one request", async () => {
    const output = await invoke("reused", { note: "logged" });
    const requestId = requestIdOf(output);

    let lines = await ws.logs("reused", { requestId });
    for (
      let attempt = 0;
      !lines.some((line) => line.message.startsWith("REPORT")) && attempt < 50;
      attempt++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      lines = await ws.logs("reused", { requestId });
    }

    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => line.requestId === requestId)).toBe(true);
    expect(lines.some((line) => line.message.startsWith(`START RequestId: ${requestId}`))).toBe(
      true,
    );
  });

  it("waits for Event invocations to run", async () => {
    const before = (await ws.invocations("reused")).length;

    await stack.lambda.send(
      new InvokeCommand({
        FunctionName: "reused",
        InvocationType: "Event",
        Payload: Buffer.from("{}"),
      }),
    );
    const records = await ws.waitForInvocations("reused", before + 1);

    expect(records.length).toBe(before + 1);
  });

  it("waits for more invocations than the admin API lists by default", async () => {
    await createFunction("many", "api-echo");
    for (let i = 0; i < 1_001; i++) await invoke("many");

    const records = await ws.waitForInvocations("many", 1_001);

    expect(records).toHaveLength(1_001);
  }, 120_000);

  it("rejects an unknown request id with a clear message", async () => {
    await expect(ws.invocation("no-such-request")).rejects.toThrow(
      /No invocation has request id no-such-request/,
    );
  });
});

describe("admin API", () => {
  it("lists functions with settings and environment counts", async () => {
    await invoke("reused");

    const functions = await ws.functions();
    const reused = functions.find((entry) => entry.functionName === "reused");

    expect(reused?.simulator.keepAliveSeconds).toBe(300);
    expect(reused?.state).toBe("Active");
    expect(reused?.hotReloadDir).toBe(path.join(FUNCTION_FIXTURES, "api-echo"));
    expect(
      Object.values(reused?.environments ?? {}).reduce((sum, count) => sum + count, 0),
    ).toBeGreaterThanOrEqual(1);
  });

  it("reports environment age and status", async () => {
    const response = await fetch(`${stack.endpoint}/_warmstate/environments?function=reused`);
    const environments = (await response.json()) as Array<{ ageMs: number; status: string }>;

    expect(response.status).toBe(200);
    expect(environments.length).toBeGreaterThan(0);
    expect(environments.every((environment) => environment.ageMs >= 0)).toBe(true);
  });

  it("reports the Event queue counters", async () => {
    const response = await fetch(`${stack.endpoint}/_warmstate/async`);
    const stats = (await response.json()) as Record<string, number>;

    expect(stats).toMatchObject({ queued: 0, inFlight: 0 });
  });
});
