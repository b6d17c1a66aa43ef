import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  GetAccountSettingsCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../../simulator/index.ts";
import { createZip } from "../../simulator/lambda/api/zip-archive.ts";
import { FUNCTION_FIXTURES, makeDataDir } from "./support/stack.ts";

const ROLE = "arn:aws:iam::000000000000:role/lambda-role";

function echoZip(extra = ""): Buffer {
  const source = readFileSync(path.join(FUNCTION_FIXTURES, "api-echo/index.mjs"), "utf8");
  return createZip({ "index.mjs": source + extra });
}

async function invokeJson(client: LambdaClient, functionName: string, qualifier?: string) {
  const output = await client.send(
    new InvokeCommand({
      FunctionName: functionName,
      Qualifier: qualifier,
      Payload: Buffer.from('{"ping":1}'),
    }),
  );
  return { output, body: JSON.parse(Buffer.from(output.Payload ?? []).toString()) };
}

let simulator: Simulator;
let client: LambdaClient;
let dataDir: string;

beforeAll(async () => {
  dataDir = makeDataDir("lifecycle");
  simulator = await startSimulator({ dataDir, logLevel: "silent" });
  client = new LambdaClient({
    endpoint: simulator.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "anything", secretAccessKey: "anything" },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await simulator?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("function lifecycle through the AWS SDK", () => {
  it("creates, invokes, updates, publishes, aliases and deletes", async () => {
    const zip = echoZip();
    const created = await client.send(
      new CreateFunctionCommand({
        FunctionName: "lifecycle",
        Runtime: "nodejs20.x",
        Role: ROLE,
        Handler: "index.handler",
        Code: { ZipFile: zip },
        Environment: { Variables: { MARK: "1" } },
      }),
    );
    expect(created.State).toBe("Pending");
    expect(created.CodeSha256).toBe(createHash("sha256").update(zip).digest("base64"));
    expect(created.CodeSize).toBe(zip.length);
    expect(created.FunctionArn).toBe("arn:aws:lambda:us-east-1:000000000000:function:lifecycle");
    expect(created.LastModified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    await waitUntilFunctionActiveV2({ client, maxWaitTime: 30 }, { FunctionName: "lifecycle" });

    const first = await invokeJson(client, "lifecycle");
    expect(first.output.StatusCode).toBe(200);
    expect(first.output.ExecutedVersion).toBe("$LATEST");
    expect(first.output.FunctionError, JSON.stringify(first.body)).toBeUndefined();
    expect(first.body.mark).toBe("1");
    expect(first.body.requestId).toBe(first.output.$metadata.requestId);

    const updated = await client.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: "lifecycle",
        Environment: { Variables: { MARK: "2" } },
      }),
    );
    expect(updated.LastUpdateStatus).toBe("InProgress");
    expect(updated.RevisionId).not.toBe(created.RevisionId);
    await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 30 }, { FunctionName: "lifecycle" });
    const second = await invokeJson(client, "lifecycle");
    expect(second.body.mark).toBe("2");
    expect(second.body.invocations).toBe(1);

    const version = await client.send(
      new PublishVersionCommand({ FunctionName: "lifecycle", Description: "first" }),
    );
    expect(version.Version).toBe("1");
    expect(version.FunctionArn).toBe("arn:aws:lambda:us-east-1:000000000000:function:lifecycle:1");
    const alias = await client.send(
      new CreateAliasCommand({ FunctionName: "lifecycle", Name: "live", FunctionVersion: "1" }),
    );
    expect(alias.AliasArn).toBe("arn:aws:lambda:us-east-1:000000000000:function:lifecycle:live");

    await client.send(
      new UpdateFunctionCodeCommand({ FunctionName: "lifecycle", ZipFile: echoZip("\n// v2\n") }),
    );
    await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 30 }, { FunctionName: "lifecycle" });
    const viaAlias = await invokeJson(client, "lifecycle", "live");
    expect(viaAlias.output.ExecutedVersion).toBe("1");
    expect(viaAlias.body.version).toBe("1");
    const version2 = await client.send(new PublishVersionCommand({ FunctionName: "lifecycle" }));
    expect(version2.Version).toBe("2");
    expect(version2.CodeSha256).not.toBe(version.CodeSha256);

    await client.send(
      new UpdateAliasCommand({ FunctionName: "lifecycle", Name: "live", FunctionVersion: "2" }),
    );
    expect((await invokeJson(client, "lifecycle", "live")).output.ExecutedVersion).toBe("2");
    expect(
      (await client.send(new GetAliasCommand({ FunctionName: "lifecycle", Name: "live" })))
        .FunctionVersion,
    ).toBe("2");

    await client.send(new DeleteAliasCommand({ FunctionName: "lifecycle", Name: "live" }));
    await client.send(new DeleteFunctionCommand({ FunctionName: "lifecycle", Qualifier: "1" }));
    const versions = await client.send(
      new ListVersionsByFunctionCommand({ FunctionName: "lifecycle" }),
    );
    expect(versions.Versions?.map((entry) => entry.Version)).toEqual(["$LATEST", "2"]);

    await client.send(new DeleteFunctionCommand({ FunctionName: "lifecycle" }));
    await expect(
      client.send(new GetFunctionCommand({ FunctionName: "lifecycle" })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it("rejects a second update while the first is in progress", async () => {
    await client.send(
      new CreateFunctionCommand({
        FunctionName: "busy-updates",
        Runtime: "nodejs20.x",
        Role: ROLE,
        Handler: "index.handler",
        Code: { ZipFile: echoZip() },
      }),
    );
    await waitUntilFunctionActiveV2({ client, maxWaitTime: 30 }, { FunctionName: "busy-updates" });

    await client.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: "busy-updates", Timeout: 10 }),
    );
    const second = client.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: "busy-updates", Timeout: 20 }),
    );

    await expect(second).rejects.toBeInstanceOf(ResourceConflictException);
    await expect(second).rejects.toThrow(/An update is in progress/);
  });

  it("accepts a function ARN wherever a name goes", async () => {
    await client.send(
      new CreateFunctionCommand({
        FunctionName: "by-arn",
        Runtime: "nodejs20.x",
        Role: ROLE,
        Handler: "index.handler",
        Code: { ZipFile: echoZip() },
      }),
    );
    const arn = "arn:aws:lambda:us-east-1:000000000000:function:by-arn";

    const configuration = await client.send(
      new GetFunctionConfigurationCommand({ FunctionName: arn }),
    );
    const partial = await invokeJson(client, "000000000000:function:by-arn");

    expect(configuration.FunctionName).toBe("by-arn");
    expect(partial.output.StatusCode).toBe(200);
  });

  it("pages ListFunctions with MaxItems and Marker", async () => {
    for (const name of ["page-a", "page-b", "page-c"]) {
      await client.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: "nodejs20.x",
          Role: ROLE,
          Handler: "index.handler",
          Code: { ZipFile: echoZip() },
        }),
      );
    }

    const names: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(new ListFunctionsCommand({ MaxItems: 2, Marker: marker }));
      names.push(...(page.Functions ?? []).map((entry) => entry.FunctionName ?? ""));
      marker = page.NextMarker;
      pages++;
    } while (marker && pages < 20);

    expect(names).toEqual(expect.arrayContaining(["page-a", "page-b", "page-c"]));
    expect(new Set(names).size).toBe(names.length);
    expect(pages).toBeGreaterThan(1);
  });

  it("reports account settings with the default concurrency quota", async () => {
    const settings = await client.send(new GetAccountSettingsCommand({}));

    expect(settings.AccountLimit?.ConcurrentExecutions).toBe(1000);
    expect(settings.AccountUsage?.FunctionCount).toBeGreaterThan(0);
  });

  it("lists aliases of a function", async () => {
    await client.send(
      new CreateFunctionCommand({
        FunctionName: "aliased",
        Runtime: "nodejs20.x",
        Role: ROLE,
        Handler: "index.handler",
        Code: { ZipFile: echoZip() },
        Publish: true,
      }),
    );
    await client.send(
      new CreateAliasCommand({ FunctionName: "aliased", Name: "blue", FunctionVersion: "1" }),
    );
    await client.send(
      new CreateAliasCommand({
        FunctionName: "aliased",
        Name: "green",
        FunctionVersion: "$LATEST",
      }),
    );

    const aliases = await client.send(new ListAliasesCommand({ FunctionName: "aliased" }));

    expect(aliases.Aliases?.map((entry) => entry.Name)).toEqual(["blue", "green"]);
  });
});

describe("simulator restart", () => {
  it("keeps functions and their code in the data folder", async () => {
    const restartDir = makeDataDir("restart");
    const credentials = { accessKeyId: "anything", secretAccessKey: "anything" };
    const first = await startSimulator({ dataDir: restartDir, logLevel: "silent" });
    const firstClient = new LambdaClient({
      endpoint: first.endpoint,
      region: "us-east-1",
      credentials,
      maxAttempts: 1,
    });
    await firstClient.send(
      new CreateFunctionCommand({
        FunctionName: "durable",
        Runtime: "nodejs20.x",
        Role: ROLE,
        Handler: "index.handler",
        Code: { ZipFile: echoZip() },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: firstClient, maxWaitTime: 30 },
      { FunctionName: "durable" },
    );
    await firstClient.send(new PublishVersionCommand({ FunctionName: "durable" }));
    firstClient.destroy();
    await first.close();

    const second = await startSimulator({ dataDir: restartDir, logLevel: "silent" });
    const secondClient = new LambdaClient({
      endpoint: second.endpoint,
      region: "us-east-1",
      credentials,
      maxAttempts: 1,
    });
    try {
      const configuration = await secondClient.send(
        new GetFunctionConfigurationCommand({ FunctionName: "durable" }),
      );
      const invoked = await invokeJson(secondClient, "durable", "1");

      expect(configuration.State).toBe("Active");
      expect(invoked.output.ExecutedVersion).toBe("1");
      expect(invoked.body.event).toEqual({ ping: 1 });
    } finally {
      secondClient.destroy();
      await second.close();
      rmSync(restartDir, { recursive: true, force: true });
    }
  });
});
