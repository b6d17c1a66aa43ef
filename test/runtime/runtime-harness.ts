/**
 * Helpers for the runtime tests: spawn a runtime client as a plain child
 * process against a RuntimeApiServer, build invocations, and call the
 * Runtime API over node:http when a test needs control of the connection.
 */
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { RuntimeApiServer } from "../../simulator/lambda/runtime-api/runtime-api-server.ts";
import type {
  RuntimeInvocation,
  RuntimeInvocationOutcome,
} from "../../simulator/lambda/runtime-api/types.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repositoryRoot = path.resolve(here, "../..");
export const fixturesDir = path.join(repositoryRoot, "test/fixtures/functions");
export const runtimeEntry = path.join(repositoryRoot, "simulator/runtime/index.mjs");

export const FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:fixture";

/** A runtime process started by a test. */
export interface RuntimeProcess {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after a second; resolves once it is gone. */
  stop(): Promise<void>;
}

/** The Lambda environment variables of a fixture function. */
export function lambdaEnvironment(
  api: RuntimeApiServer,
  taskRoot: string,
  handler: string,
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    AWS_LAMBDA_RUNTIME_API: `${api.host}:${api.port}`,
    _HANDLER: handler,
    LAMBDA_TASK_ROOT: taskRoot,
    AWS_LAMBDA_FUNCTION_NAME: "fixture",
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256",
    AWS_LAMBDA_LOG_GROUP_NAME: "/aws/lambda/fixture",
    AWS_LAMBDA_LOG_STREAM_NAME: "2026/01/01/[$LATEST]0123456789abcdef",
    AWS_REGION: "us-east-1",
  };
}

/** Spawns any command as a runtime process and records its output. */
export function spawnProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): RuntimeProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 1_000);
    await exited;
    clearTimeout(timer);
  };

  return { child, stdout: () => stdout, stderr: () => stderr, exited, stop };
}

/** Spawns the project's runtime client for a fixture folder and handler. */
export function spawnRuntime(
  api: RuntimeApiServer,
  fixture: string,
  handler: string,
  extraEnv: Record<string, string> = {},
): RuntimeProcess {
  const taskRoot = path.isAbsolute(fixture) ? fixture : path.join(fixturesDir, fixture);
  const env = { ...lambdaEnvironment(api, taskRoot, handler), ...extraEnv };
  return spawnProcess(process.execPath, [runtimeEntry], { cwd: repositoryRoot, env });
}

let counter = 0;

/** Builds an invocation with a fresh request id and a deadline a minute away. */
export function invocation(
  payload: unknown,
  overrides: Partial<RuntimeInvocation> = {},
): RuntimeInvocation {
  counter++;
  return {
    requestId: `00000000-0000-4000-8000-${String(counter).padStart(12, "0")}`,
    payload: Buffer.from(JSON.stringify(payload)),
    deadlineMs: Date.now() + 60_000,
    invokedFunctionArn: FUNCTION_ARN,
    traceId: "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
    ...overrides,
  };
}

/** A Runtime API reply read over node:http. */
export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * Calls the Runtime API over node:http. Pass a keep-alive agent to make
 * several calls on one connection, as one runtime process does.
 */
export function callRuntimeApi(
  api: RuntimeApiServer,
  method: "GET" | "POST",
  apiPath: string,
  options: {
    body?: string | Buffer;
    headers?: Record<string, string>;
    agent?: http.Agent | false;
  } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: api.host,
        port: api.port,
        method,
        path: apiPath,
        headers: options.headers,
        agent: options.agent ?? false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(options.body);
  });
}

/** Parses a response outcome's payload as JSON, failing on any other outcome. */
export function responseJson(outcome: RuntimeInvocationOutcome): unknown {
  if (outcome.kind !== "response")
    throw new Error(`Expected a response outcome, got ${JSON.stringify(outcome)}`);
  return json(outcome.payload);
}

/** Parses a payload Buffer as JSON. */
export function json(payload: Buffer): unknown {
  return JSON.parse(payload.toString("utf8"));
}
