import { cpSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  InvokeCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  TooManyRequestsException,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { warmstateClient } from "../../simulator/testing/index.ts";
import { FUNCTION_FIXTURES, type Stack, startStack } from "./support/stack.ts";

const ROLE = "arn:aws:iam::000000000000:role/lambda-role";

let stack: Stack;

async function createFunction(name: string, folder: string): Promise<void> {
  await stack.lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: "nodejs20.x",
      Role: ROLE,
      Handler: "index.handler",
      Code: { S3Bucket: "hot-reload", S3Key: folder },
    }),
  );
}

async function invokeJson(name: string, event: unknown = {}) {
  const output = await stack.lambda.send(
    new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)) }),
  );
  return { output, body: JSON.parse(Buffer.from(output.Payload ?? []).toString()) };
}

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

describe("hot-reload code", () => {
  it("runs the new code after a file in the folder changes", async () => {
    const folder = path.join(stack.dataDir, "editable-code");
    cpSync(path.join(FUNCTION_FIXTURES, "api-echo"), folder, { recursive: true });
    await createFunction("editable", folder);
    const ws = await warmstateClient(stack.endpoint);
    const before = await invokeJson("editable");
    const changed = new Promise((resolve) => stack.registry.once("configuration-changed", resolve));

    writeFileSync(
      path.join(folder, "index.mjs"),
      "export const handler = async () => ({ edited: true });\n",
    );
    await changed;
    const after = await invokeJson("editable");

    expect(before.body.edited).toBeUndefined();
    expect(after.body).toEqual({ edited: true });
    expect(await ws.wasCold(after.output)).toBe(true);
    expect(await ws.sameEnvironment(before.output, after.output)).toBe(false);
  });
});

describe("throttling", () => {
  it("rejects a second concurrent invocation beyond reserved concurrency 1", async () => {
    await createFunction("single", path.join(FUNCTION_FIXTURES, "api-sleep"));
    await stack.lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: "single",
        ReservedConcurrentExecutions: 1,
      }),
    );

    const results = await Promise.allSettled([
      invokeJson("single", { ms: 1500 }),
      new Promise((resolve) => setTimeout(resolve, 300)).then(() =>
        invokeJson("single", { ms: 10 }),
      ),
    ]);

    expect(results[0].status).toBe("fulfilled");
    expect(results[1].status).toBe("rejected");
    const reason = (results[1] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(TooManyRequestsException);
    expect(reason.Reason).toBe("ReservedFunctionConcurrentInvocationLimitExceeded");
  });
});

describe("versions", () => {
  it("keeps serving a published version after $LATEST changes", async () => {
    await createFunction("versioned", path.join(FUNCTION_FIXTURES, "api-echo"));
    await waitUntilFunctionActiveV2(
      { client: stack.lambda, maxWaitTime: 30 },
      { FunctionName: "versioned" },
    );
    await stack.lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: "versioned",
        Environment: { Variables: { MARK: "one" } },
      }),
    );
    await waitUntilFunctionUpdatedV2(
      { client: stack.lambda, maxWaitTime: 30 },
      { FunctionName: "versioned" },
    );
    await stack.lambda.send(new PublishVersionCommand({ FunctionName: "versioned" }));
    await stack.lambda.send(
      new CreateAliasCommand({ FunctionName: "versioned", Name: "stable", FunctionVersion: "1" }),
    );
    await stack.lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: "versioned",
        Environment: { Variables: { MARK: "two" } },
      }),
    );
    await waitUntilFunctionUpdatedV2(
      { client: stack.lambda, maxWaitTime: 30 },
      { FunctionName: "versioned" },
    );

    const stable = await stack.lambda.send(
      new InvokeCommand({
        FunctionName: "versioned",
        Qualifier: "stable",
        Payload: Buffer.from("{}"),
      }),
    );
    const latest = await invokeJson("versioned");

    expect(JSON.parse(Buffer.from(stable.Payload ?? []).toString()).mark).toBe("one");
    expect(stable.ExecutedVersion).toBe("1");
    expect(latest.body.mark).toBe("two");
  });

  it("pages ListVersionsByFunction", async () => {
    const first = await stack.lambda.send(
      new ListVersionsByFunctionCommand({ FunctionName: "versioned", MaxItems: 1 }),
    );
    const second = await stack.lambda.send(
      new ListVersionsByFunctionCommand({
        FunctionName: "versioned",
        MaxItems: 1,
        Marker: first.NextMarker,
      }),
    );

    expect(first.Versions?.map((version) => version.Version)).toEqual(["$LATEST"]);
    expect(second.Versions?.map((version) => version.Version)).toEqual(["1"]);
    expect(second.NextMarker).toBeUndefined();
  });
});
