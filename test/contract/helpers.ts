import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  CreateFunctionCommand,
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
} from "@aws-sdk/client-lambda";
import type { BackendName } from "../../simulator/sandbox/backend.ts";
import { type Simulator, startSimulator } from "../../simulator/simulator.ts";

/** Folder of the contract fixtures. */
export const FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../fixtures/contract",
);

/** A simulator with a fresh data dir and an SDK client pointed at it. */
export interface ContractHarness {
  simulator: Simulator;
  lambda: LambdaClient;
  dataDir: string;
}

/** Starts a simulator on `backend` with a new data dir under the OS temp folder. */
export async function startHarness(backend: BackendName): Promise<ContractHarness> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "warmstate-contract-"));
  const simulator = await startSimulator({
    backend,
    dataDir,
    logLevel: process.env.WARMSTATE_TEST_LOG ?? "silent",
  });
  const lambda = new LambdaClient({
    endpoint: simulator.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    // Throttles must reach the test, not be retried away by the SDK.
    maxAttempts: 1,
  });
  return { simulator, lambda, dataDir };
}

let sequence = 0;

/**
 * Creates a function from a fixture folder (a name under FIXTURES, or a
 * relative path from there) through the SDK and returns its name.
 */
export async function createFixtureFunction(
  harness: ContractHarness,
  fixture: string,
  options: {
    handler?: string;
    runtime?: string;
    memorySize?: number;
    timeout?: number;
    ephemeralStorage?: number;
    environment?: Record<string, string>;
    tags?: Record<string, string>;
  } = {},
): Promise<string> {
  const functionName = `${path.basename(fixture)}${FUNCTION_MARKER}${++sequence}`;
  await harness.lambda.send(
    new CreateFunctionCommand({
      FunctionName: functionName,
      Runtime: (options.runtime ?? "nodejs20.x") as "nodejs20.x",
      Role: "arn:aws:iam::000000000000:role/lambda-role",
      Handler: options.handler ?? "index.handler",
      // The simulator's local-folder code option: the folder is used in place.
      Code: { S3Bucket: "hot-reload", S3Key: path.join(FIXTURES, fixture) },
      MemorySize: options.memorySize,
      Timeout: options.timeout,
      EphemeralStorage: options.ephemeralStorage ? { Size: options.ephemeralStorage } : undefined,
      Environment: options.environment ? { Variables: options.environment } : undefined,
      Tags: options.tags,
    }),
  );
  return functionName;
}

/** Invokes a function synchronously and parses its JSON payload. */
export async function invokeJson(
  harness: ContractHarness,
  functionName: string,
  event: unknown = {},
): Promise<{ output: InvokeCommandOutput; payload: Record<string, unknown> }> {
  const output = await harness.lambda.send(
    new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(event)) }),
  );
  const text = Buffer.from(output.Payload ?? new Uint8Array()).toString("utf8");
  return { output, payload: text ? JSON.parse(text) : {} };
}

/** Marker in the names of this test process's functions, and so in their sandboxes' environment. */
export const FUNCTION_MARKER = `-${process.pid}-`;

/** Lists what a simulator left on the machine, found by its data dir and its functions' names. */
export function leftovers(dataDir: string, functionNames: string[]): string[] {
  const found: string[] = [];
  const mounts = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .filter((line) => line.includes(dataDir));
  found.push(...mounts.map((line) => `mount: ${line}`));

  try {
    const loops = execFileSync("losetup", ["-a"], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes(dataDir));
    found.push(...loops.map((line) => `loop device: ${line}`));
  } catch {
    // losetup is missing where loop devices are not used.
  }

  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const ours = environ
        .split("\0")
        .some((entry) =>
          functionNames.some((name) => entry === `AWS_LAMBDA_FUNCTION_NAME=${name}`),
        );
      if (ours || environ.includes(dataDir) || cmdline.includes(dataDir)) {
        found.push(`process ${pid}: ${cmdline.replaceAll("\0", " ")}`);
      }
    } catch {
      // The process ended while we looked.
    }
  }

  const sandboxes = path.join(dataDir, "sandboxes");
  if (existsSync(sandboxes)) {
    found.push(...readdirSync(sandboxes).map((name) => `sandbox folder: ${name}`));
  }
  return found;
}
