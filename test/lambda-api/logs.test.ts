import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-cloudwatch-logs";
import { CreateFunctionCommand, InvokeCommand } from "@aws-sdk/client-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { RealClock } from "../../simulator/clock.ts";
import { compileFilterPattern } from "../../simulator/lambda/logs/filter-pattern.ts";
import { LogStore } from "../../simulator/lambda/logs/log-store.ts";
import { logsCommand } from "../../simulator/lambda/logs/logs-command.ts";
import { FUNCTION_FIXTURES, makeDataDir, type Stack, startStack } from "./support/stack.ts";

function line(functionName: string, stream: string, message: string, timestamp = Date.now()) {
  return { functionName, logStreamName: stream, environmentId: stream, timestamp, message };
}

describe("log store", () => {
  let dataDir: string;

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps only the newest lines of a stream in memory", async () => {
    dataDir = makeDataDir("log-store");
    const store = new LogStore({ clock: new RealClock(), dataDir, maxEventsPerStream: 5 });

    for (let index = 0; index < 12; index++) store.append(line("fn", "s1", `line ${index}`));

    expect(store.query({ functionName: "fn" }).map((event) => event.message)).toEqual([
      "line 7",
      "line 8",
      "line 9",
      "line 10",
      "line 11",
    ]);
    await store.close();
  });

  it("appends every line to the function's file", async () => {
    dataDir = makeDataDir("log-store");
    const store = new LogStore({ clock: new RealClock(), dataDir, maxEventsPerStream: 5 });

    for (let index = 0; index < 12; index++) store.append(line("fn", "s1", `line ${index}`));
    await store.close();

    const lines = readFileSync(path.join(dataDir, "logs", "fn.log"), "utf8")
      .trim()
      .split("\n");
    expect(lines).toHaveLength(12);
    expect(JSON.parse(lines[11]).message).toBe("line 11");
  });

  it("drops the least recently written stream past the stream cap", async () => {
    dataDir = makeDataDir("log-store");
    const store = new LogStore({ clock: new RealClock(), maxStreamsPerFunction: 2 });

    store.append(line("fn", "old", "a"));
    store.append(line("fn", "middle", "b"));
    store.append(line("fn", "new", "c"));

    expect(
      store
        .streams("fn")
        .map((stream) => stream.logStreamName)
        .sort(),
    ).toEqual(["middle", "new"]);
    await store.close();
  });

  it("selects lines by stream, request id and cursor", async () => {
    dataDir = makeDataDir("log-store");
    const store = new LogStore({ clock: new RealClock() });
    store.append({ ...line("fn", "s1", "first"), requestId: "r1" });
    store.append({ ...line("fn", "s2", "second"), requestId: "r2" });
    store.append({ ...line("fn", "s1", "third"), requestId: "r1" });

    expect(
      store.query({ functionName: "fn", logStreamNames: ["s2"] }).map((event) => event.message),
    ).toEqual(["second"]);
    expect(
      store.query({ functionName: "fn", requestId: "r1" }).map((event) => event.message),
    ).toEqual(["first", "third"]);
    expect(
      store.query({ functionName: "fn", afterSequence: 2 }).map((event) => event.message),
    ).toEqual(["third"]);
    await store.close();
  });
});

describe("filter patterns", () => {
  it("match terms, phrases, optional and excluded terms", () => {
    const cases: Array<[string, string, boolean]> = [
      ["ERROR", "an ERROR happened", true],
      ["ERROR", "an error happened", false],
      ["ERROR timeout", "ERROR: timeout", true],
      ["ERROR timeout", "ERROR: crash", false],
      ['"request failed"', "the request failed", true],
      ['"request failed"', "request has failed", false],
      ["?WARN ?ERROR", "WARN low disk", true],
      ["?WARN ?ERROR", "INFO fine", false],
      ["ERROR -retry", "ERROR retry scheduled", false],
      ["", "anything", true],
    ];

    for (const [pattern, message, expected] of cases) {
      expect(compileFilterPattern(pattern)(message), `${pattern} on ${message}`).toBe(expected);
    }
  });
});

describe("function logs over the APIs", () => {
  let stack: Stack;
  let logsClient: CloudWatchLogsClient;

  beforeAll(async () => {
    stack = await startStack();
    logsClient = new CloudWatchLogsClient({
      endpoint: stack.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "any", secretAccessKey: "any" },
      maxAttempts: 1,
    });
    await stack.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "chatty",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/lambda-role",
        Handler: "index.handler",
        Code: { S3Bucket: "hot-reload", S3Key: path.join(FUNCTION_FIXTURES, "api-echo") },
      }),
    );
  });

  afterAll(async () => {
    logsClient?.destroy();
    await stack?.close();
  });

  it("returns the invocation's log tail with LogType Tail", async () => {
    const output = await stack.lambda.send(
      new InvokeCommand({
        FunctionName: "chatty",
        LogType: "Tail",
        Payload: Buffer.from('{"tail":true}'),
      }),
    );

    const tail = Buffer.from(output.LogResult ?? "", "base64").toString("utf8");
    expect(tail).toContain(`START RequestId: ${output.$metadata.requestId}`);
    expect(tail).toContain(`REPORT RequestId: ${output.$metadata.requestId}`);
  });

  it("filters a log group with FilterLogEvents", async () => {
    await stack.lambda.send(
      new InvokeCommand({ FunctionName: "chatty", Payload: Buffer.from('{"marker":"findme"}') }),
    );

    // A function's own output may reach the store just after the response.
    let result = await logsClient.send(
      new FilterLogEventsCommand({ logGroupName: "/aws/lambda/chatty", filterPattern: "findme" }),
    );
    for (let attempt = 0; result.events?.length === 0 && attempt < 50; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      result = await logsClient.send(
        new FilterLogEventsCommand({ logGroupName: "/aws/lambda/chatty", filterPattern: "findme" }),
      );
    }

    expect(result.events).toHaveLength(1);
    expect(result.events?.[0].message).toContain('"marker":"findme"');
    expect(result.events?.[0].logStreamName).toMatch(/^\d{4}\/\d\d\/\d\d\/\[\$LATEST\]/);
  });

  it("lists one log stream per environment", async () => {
    const result = await logsClient.send(
      new DescribeLogStreamsCommand({ logGroupName: "/aws/lambda/chatty" }),
    );
    const environments = stack.service.environments("chatty");

    expect(result.logStreams?.map((stream) => stream.logStreamName).sort()).toEqual(
      environments.map((environment) => environment.logStreamName).sort(),
    );
  });

  it("reads a stream from its head with GetLogEvents", async () => {
    const [stream] = stack.logs.streams("chatty");

    const result = await logsClient.send(
      new GetLogEventsCommand({
        logGroupName: "/aws/lambda/chatty",
        logStreamName: stream.logStreamName,
        startFromHead: true,
      }),
    );

    expect(result.events?.[0].message).toMatch(/^(INIT_START|START RequestId)/);
    expect(result.nextForwardToken).toMatch(/^f\//);
  });

  it("raises ResourceNotFoundException for an unknown log group", async () => {
    const call = logsClient.send(
      new FilterLogEventsCommand({ logGroupName: "/aws/lambda/nobody" }),
    );

    await expect(call).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it("prints a function's lines with the logs command", async () => {
    const printed: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((text: string) => {
      printed.push(text);
    });

    const code = await logsCommand(["chatty", "--endpoint", stack.endpoint, "--filter", "findme"]);
    spy.mockRestore();

    expect(code).toBe(0);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(/^\d{4}-\d\d-\d\dT.*\[\$LATEST\].*findme/);
  });

  it("fails the logs command for an unknown function", async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((text: string) => {
      errors.push(text);
    });

    const code = await logsCommand(["nobody", "--endpoint", stack.endpoint]);
    spy.mockRestore();

    expect(code).toBe(1);
    expect(errors.join("\n")).toMatch(/Function not found: nobody/);
  });

  it("follows new lines until aborted", async () => {
    const printed: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((text: string) => {
      printed.push(text);
    });
    const controller = new AbortController();

    const following = logsCommand(
      ["chatty", "--endpoint", stack.endpoint, "--follow", "--filter", "followed"],
      {
        signal: controller.signal,
      },
    );
    await stack.lambda.send(
      new InvokeCommand({ FunctionName: "chatty", Payload: Buffer.from('{"tag":"followed"}') }),
    );
    for (let waited = 0; printed.length === 0 && waited < 100; waited++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    const code = await following;
    spy.mockRestore();

    expect(code).toBe(0);
    expect(printed.some((text) => text.includes('"tag":"followed"'))).toBe(true);
  });
});
