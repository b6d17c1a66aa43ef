import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_RESPONSE_BYTES } from "../../simulator/lambda/invocation-failures.ts";
import { RuntimeApiServer } from "../../simulator/lambda/runtime-api/runtime-api-server.ts";
import type {
  RuntimeInitOutcome,
  RuntimeInvocationOutcome,
} from "../../simulator/lambda/runtime-api/types.ts";
import {
  FUNCTION_ARN,
  fixturesDir,
  invocation,
  json,
  type RuntimeProcess,
  responseJson,
  spawnRuntime,
} from "./runtime-harness.ts";

let api: RuntimeApiServer;
let runtime: RuntimeProcess | undefined;
const tempDirs: string[] = [];

beforeEach(async () => {
  api = await RuntimeApiServer.start({});
});

afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
  await api.close();
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function start(fixture: string, handler: string, env: Record<string, string> = {}): RuntimeProcess {
  runtime = spawnRuntime(api, fixture, handler, env);
  return runtime;
}

async function invoke(payload: unknown, overrides = {}): Promise<RuntimeInvocationOutcome> {
  return api.invoke(invocation(payload, overrides));
}

/** Returns the response payload as JSON, failing on any other outcome. */
async function responseOf(payload: unknown = {}): Promise<unknown> {
  const outcome = await invoke(payload);
  if (outcome.kind !== "response")
    throw new Error(`Expected a response, got ${JSON.stringify(outcome)}`);
  return json(outcome.payload);
}

/** Returns the error body and header type, failing on any other outcome. */
async function errorOf(payload: unknown = {}) {
  const outcome = await invoke(payload);
  if (outcome.kind !== "error")
    throw new Error(`Expected an error, got ${JSON.stringify(outcome)}`);
  return {
    headerType: outcome.errorType,
    body: json(outcome.payload) as { errorType: string; errorMessage: string; trace: string[] },
  };
}

async function initErrorOf(): Promise<{
  errorType: string | undefined;
  body: Record<string, unknown>;
}> {
  const outcome: RuntimeInitOutcome = await api.waitForInit();
  if (outcome.kind !== "init-error") throw new Error(`Expected an init error, got ${outcome.kind}`);
  return { errorType: outcome.errorType, body: json(outcome.payload) as Record<string, unknown> };
}

/** Waits, for at most five seconds, until the runtime's stdout contains `text`. */
async function stdoutContaining(process: RuntimeProcess, text: string): Promise<string> {
  for (let attempt = 0; attempt < 100 && !process.stdout().includes(text); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return process.stdout();
}

describe("handler resolution", () => {
  it("loads an export of an ES module", async () => {
    start("esm", "index.echo");

    expect(await responseOf({ a: 1 })).toMatchObject({ event: { a: 1 } });
  });

  it("loads a CommonJS module", async () => {
    start("cjs", "index.contextDone");

    expect(await responseOf()).toBe("done result");
  });

  it("loads a .cjs file", async () => {
    start("cjs-extension", "handler.run");

    expect(await responseOf({ b: 2 })).toEqual({ loadedFrom: "cjs extension", event: { b: 2 } });
  });

  it("loads .js as ES module under type module", async () => {
    start("type-module", "app.handler");

    expect(await responseOf()).toEqual({ loadedFrom: "js with type module", isModule: true });
  });

  it("loads a module from a nested folder", async () => {
    start("nested", "src/handlers/api.routes.get");

    expect(await responseOf({ id: 7 })).toEqual({ route: "get", event: { id: 7 } });
  });

  it("follows a dotted nested export", async () => {
    start("esm", "index.nested.deeper.handler");

    expect(await responseOf()).toBe("nested export");
  });
});

describe("init errors", () => {
  it("reports a missing export as HandlerNotFound", async () => {
    const process = start("esm", "index.missing");

    const { errorType, body } = await initErrorOf();

    expect(errorType).toBe("Runtime.HandlerNotFound");
    expect(body.errorMessage).toBe("index.missing is undefined or not exported");
    expect((await process.exited).code).toBe(129);
  });

  it("reports a non-function export as HandlerNotFound", async () => {
    start("esm", "index.notAFunction");

    const { body } = await initErrorOf();

    expect(body).toMatchObject({
      errorType: "Runtime.HandlerNotFound",
      errorMessage: "index.notAFunction is not a function",
    });
  });

  it("reports a missing module as ImportModuleError", async () => {
    start("esm", "nowhere.handler");

    const { errorType, body } = await initErrorOf();

    expect(errorType).toBe("Runtime.ImportModuleError");
    expect(body.errorMessage).toContain("Cannot find module 'nowhere'");
  });

  it("names a task root it cannot enter when the module is not found", async () => {
    start("/nonexistent/task-root", "index.handler");

    const { errorType, body } = await initErrorOf();

    expect(errorType).toBe("Runtime.ImportModuleError");
    expect(body.errorMessage).toContain(
      "The runtime cannot enter LAMBDA_TASK_ROOT /nonexistent/task-root",
    );
  });

  it("reports a handler without export as MalformedHandlerName", async () => {
    start("esm", "index");

    const { errorType, body } = await initErrorOf();

    expect(errorType).toBe("Runtime.MalformedHandlerName");
    expect(body.errorMessage).toBe("Bad handler");
  });

  it("reports a parent-folder handler as MalformedHandlerName", async () => {
    start("esm", "../cjs/index.contextDone");

    const { errorType } = await initErrorOf();

    expect(errorType).toBe("Runtime.MalformedHandlerName");
  });

  it("reports an error thrown at import under its own name", async () => {
    const process = start("init-throws", "index.handler");

    const { errorType, body } = await initErrorOf();
    const stdout = await stdoutContaining(process, "Uncaught Exception");

    expect(errorType).toBe("ConfigurationError");
    expect(body).toMatchObject({
      errorType: "ConfigurationError",
      errorMessage: "TABLE_NAME is not set",
    });
    expect(body.trace).toEqual(
      expect.arrayContaining([expect.stringContaining("ConfigurationError")]),
    );
    expect(stdout).toMatch(/\tundefined\tINFO\tloading configuration\n/);
    expect(stdout).toMatch(
      /\tundefined\tERROR\tUncaught Exception \t\{"errorType":"ConfigurationError"/,
    );
  });

  it("reports a streaming handler as unsupported", async () => {
    start("esm", "index.streaming");

    const { body } = await initErrorOf();

    expect(body.errorMessage).toContain("response streaming is not supported");
  });

  it("reports a syntax error as UserCodeSyntaxError", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "warmstate-syntax-"));
    tempDirs.push(dir);
    await writeFile(path.join(dir, "package.json"), '{"type":"commonjs"}');
    await writeFile(
      path.join(dir, "index.js"),
      "exports.handler = async () => { return { a: 1 ; };\n",
    );
    start(dir, "index.handler");

    const { errorType } = await initErrorOf();

    expect(errorType).toBe("Runtime.UserCodeSyntaxError");
  });
});

describe("context object", () => {
  it("carries the function and invocation fields", async () => {
    start("esm", "index.echo");
    const event = invocation(
      {},
      {
        clientContext: '{"client":{"app_title":"demo"}}',
        cognitoIdentity: '{"cognitoIdentityId":"id-7"}',
      },
    );

    const body = responseJson(await api.invoke(event)) as Record<string, unknown>;

    expect(body).toMatchObject({
      awsRequestId: event.requestId,
      functionName: "fixture",
      functionVersion: "$LATEST",
      invokedFunctionArn: FUNCTION_ARN,
      memoryLimitInMB: "256",
      logGroupName: "/aws/lambda/fixture",
      logStreamName: "2026/01/01/[$LATEST]0123456789abcdef",
      clientContext: { client: { app_title: "demo" } },
      identity: { cognitoIdentityId: "id-7" },
      callbackWaitsForEmptyEventLoop: true,
      traceId: event.traceId,
      cwd: path.join(fixturesDir, "esm"),
    });
    expect(body.remainingTimeMs).toBeGreaterThan(0);
    expect(body.remainingTimeMs).toBeLessThanOrEqual(60_000);
  });
});

describe("async handlers", () => {
  it("keeps module state across warm invocations", async () => {
    start("esm", "index.counter");

    expect(await responseOf()).toBe(1);
    expect(await responseOf()).toBe(2);
  });

  it("posts a thrown error with its type and trace", async () => {
    const process = start("esm", "index.throwsTypeError");

    const { headerType, body } = await errorOf();
    const stdout = await stdoutContaining(process, "Invoke Error");

    expect(headerType).toBe("TypeError");
    expect(body.errorType).toBe("TypeError");
    expect(body.errorMessage).toBe("value is not a number");
    expect(body.trace[0]).toBe("TypeError: value is not a number");
    expect(stdout).toMatch(
      /\tERROR\tInvoke Error \t\{"errorType":"TypeError","errorMessage":"value is not a number"/,
    );
  });

  it("answers without waiting for pending timers", async () => {
    start("esm", "index.leavesTimer");

    expect(await responseOf()).toBe("returned before the timer");
  });

  it("fails a never-settling promise with NodeJsExit", async () => {
    start("esm", "index.neverSettles");

    const { body } = await errorOf();

    expect(body.errorType).toBe("Runtime.NodeJsExit");
  });

  it("fails a result that cannot be serialised", async () => {
    start("esm", "index.circular");

    const { body } = await errorOf();

    expect(body).toMatchObject({
      errorType: "Error",
      errorMessage: "Unable to stringify response body",
    });
  });

  it("gets 413 for an oversize response and goes on", async () => {
    start("esm", "index.largeResponse");

    const tooLarge = await invoke({ size: MAX_RESPONSE_BYTES + 1 });
    const small = await responseOf({ size: 3 });

    expect(tooLarge.kind).toBe("response-too-large");
    expect(small).toBe("xxx");
  });
});

describe("callback handlers", () => {
  it("waits for the event loop to empty by default", async () => {
    start("cjs", "index.waitsForTimer");

    expect(await responseOf({})).toEqual({ timerFired: true });
  });

  it("answers at once when callbackWaitsForEmptyEventLoop is false", async () => {
    start("cjs", "index.waitsForTimer");

    expect(await responseOf({ waits: false })).toEqual({ timerFired: false });
  });

  it("answers null when the handler never calls back", async () => {
    start("cjs", "index.noCallback");

    expect(await responseOf()).toBeNull();
  });

  it("posts an error passed to the callback", async () => {
    start("cjs", "index.callbackError");

    const { body } = await errorOf();

    expect(body).toMatchObject({ errorType: "Error", errorMessage: "callback failed" });
  });

  it("posts a string passed as error with type string", async () => {
    start("cjs", "index.callbackString");

    const { body } = await errorOf();

    expect(body).toEqual({ errorType: "string", errorMessage: "plain text failure", trace: [] });
  });

  it("supports context.succeed", async () => {
    start("cjs", "index.contextSucceed");

    expect(await responseOf()).toEqual({ legacy: "succeed" });
  });

  it("supports context.fail", async () => {
    start("cjs", "index.contextFail");

    const { body } = await errorOf();

    expect(body).toMatchObject({ errorType: "RangeError", errorMessage: "legacy fail" });
  });

  it("keeps only the first callback", async () => {
    start("cjs", "index.callsBackTwice");

    expect(await responseOf()).toBe("first");
    expect(await responseOf()).toBe("first");
  });

  it("posts an error thrown synchronously", async () => {
    start("cjs", "index.throwsSync");

    const { body } = await errorOf();

    expect(body).toMatchObject({ errorType: "Error", errorMessage: "thrown synchronously" });
  });
});

describe("runtime crashes", () => {
  it("reports an unhandled rejection, then exits 128", async () => {
    const process = start("esm", "index.unhandledRejection");

    const { headerType, body } = await errorOf();
    const exit = await process.exited;

    expect(headerType).toBe("Runtime.UnhandledPromiseRejection");
    expect(body.errorMessage).toBe("Error: nobody awaited this");
    expect(exit.code).toBe(128);
  });

  it("reports an uncaught exception, then exits 129", async () => {
    const process = start("cjs", "index.uncaught");

    const { body } = await errorOf();
    const exit = await process.exited;

    expect(body).toMatchObject({ errorType: "Error", errorMessage: "thrown from a timer" });
    expect(exit.code).toBe(129);
  });

  it("leaves the invocation pending on process.exit", async () => {
    const process = start("esm", "index.exits");
    const outcome = invoke({ code: 3 });

    const exit = await process.exited;
    api.resetRuntime(new Error("Runtime exited with error: exit status 3"));

    expect(exit.code).toBe(3);
    await expect(outcome).rejects.toThrow("exit status 3");
  });
});

describe("environment lifecycle", () => {
  it("serves again after a freeze and thaw", async () => {
    const process = start("esm", "index.counter");
    await responseOf();

    process.child.kill("SIGSTOP");
    await new Promise((resolve) => setTimeout(resolve, 200));
    process.child.kill("SIGCONT");

    expect(await responseOf()).toBe(2);
  });

  it("starts fresh in a new process after a reset", async () => {
    const first = start("esm", "index.counter");
    await responseOf();
    api.resetRuntime(new Error("recycled for the test"));
    await first.stop();

    start("esm", "index.counter");

    expect(await api.waitForInit()).toEqual({ kind: "ready" });
    expect(await responseOf()).toBe(1);
  });
});

describe("console logging", () => {
  it("prefixes each line with time, request id and level", async () => {
    const process = start("esm", "index.logs");
    const event = invocation({});

    await api.invoke(event);
    const stdout = await stdoutContaining(process, "two\rlines");

    const prefix = `\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\t${event.requestId}\\t`;
    expect(stdout).toMatch(new RegExp(`^${prefix}INFO\\tlog line \\{ n: 1 \\}$`, "m"));
    expect(stdout).toMatch(new RegExp(`^${prefix}INFO\\tinfo line$`, "m"));
    expect(stdout).toMatch(new RegExp(`^${prefix}WARN\\twarn line$`, "m"));
    expect(stdout).toMatch(new RegExp(`^${prefix}ERROR\\terror line$`, "m"));
    expect(stdout).toMatch(new RegExp(`^${prefix}DEBUG\\tdebug line$`, "m"));
    expect(stdout).toMatch(new RegExp(`^${prefix}TRACE\\ttrace line$`, "m"));
    expect(stdout).toMatch(new RegExp(`^${prefix}INFO\\ttwo\\rlines$`, "m"));
  });

  it("writes JSON lines when the log format is JSON", async () => {
    const process = start("esm", "index.logs", { AWS_LAMBDA_LOG_FORMAT: "JSON" });
    const event = invocation({});

    await api.invoke(event);
    const stdout = await stdoutContaining(process, "warn line");
    const entries = stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line));

    expect(entries).toContainEqual({
      timestamp: expect.any(String),
      level: "WARN",
      requestId: event.requestId,
      message: "warn line",
    });
  });

  it("drops lines below AWS_LAMBDA_LOG_LEVEL", async () => {
    const process = start("esm", "index.logs", {
      AWS_LAMBDA_LOG_FORMAT: "JSON",
      AWS_LAMBDA_LOG_LEVEL: "WARN",
    });

    await invoke({});
    const stdout = await stdoutContaining(process, "error line");

    expect(stdout).toContain("warn line");
    expect(stdout).not.toContain("info line");
    expect(stdout).not.toContain("debug line");
  });
});
