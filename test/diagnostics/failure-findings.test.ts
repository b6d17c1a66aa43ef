/**
 * Findings for environments that ran out of a resource, through a real
 * simulator on the process backend, the AWS SDK and the `warmstate` CLI.
 * The findings name the invocation that failed, not the probe that first
 * came near the limit. Memory growth that ended in an out-of-memory kill is
 * a finding, although the probes after the kill read low.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CreateFunctionCommand, InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnvironmentFindings } from "../../simulator/diagnostics/leak-findings.ts";
import { type Simulator, startSimulator } from "../../simulator/simulator.ts";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = path.join(REPO, "test/diagnostics/fixtures");
const CLI = path.join(REPO, "bin/warmstate.js");
/** Invocations a test makes at most before giving up on the failure it waits for. */
const MAX_INVOCATIONS = 120;

interface Diagnostics {
  environments: Array<{ environmentId: string; findings: EnvironmentFindings }>;
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function runCli(args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

let dataDir: string;
let simulator: Simulator;
let lambda: LambdaClient;

beforeAll(async () => {
  // Under the repository: a process sandbox gets a private /tmp and must still read the data folder.
  const parent = path.join(REPO, ".warmstate", "test-runs");
  mkdirSync(parent, { recursive: true });
  dataDir = mkdtempSync(path.join(parent, "failure-findings-"));
  chmodSync(dataDir, 0o755);
  simulator = await startSimulator({
    dataDir,
    logLevel: process.env.WARMSTATE_TEST_LOG ?? "silent",
  });
  lambda = new LambdaClient({
    endpoint: simulator.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
}, 60_000);

afterAll(async () => {
  lambda?.destroy();
  await simulator?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function createFunction(
  name: string,
  folder: string,
  memorySize: number,
  megabytes: number,
): Promise<void> {
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: "nodejs20.x",
      Role: "arn:aws:iam::000000000000:role/test",
      Handler: "index.handler",
      MemorySize: memorySize,
      Code: { S3Bucket: "hot-reload", S3Key: path.join(FIXTURES, folder) },
      Environment: { Variables: { MEGABYTES: String(megabytes) } },
    }),
  );
}

// Invokes until the first invocation that fails, and returns its number and error payload.
async function invokeUntilFailure(name: string): Promise<{ invocation: number; error: string }> {
  for (let invocation = 1; invocation <= MAX_INVOCATIONS; invocation++) {
    const output = await lambda.send(new InvokeCommand({ FunctionName: name }));
    if (output.FunctionError)
      return { invocation, error: Buffer.from(output.Payload ?? []).toString() };
  }
  throw new Error(`${name} did not fail in ${MAX_INVOCATIONS} invocations`);
}

async function findingsOf(name: string): Promise<EnvironmentFindings> {
  const response = await fetch(`${simulator.endpoint}/_warmstate/diagnostics?function=${name}`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as Diagnostics;
  expect(body.environments).toHaveLength(1);
  return body.environments[0].findings;
}

describe("/tmp that fills up", () => {
  const name = "uuid-scratch";
  let firstFailure: { invocation: number; error: string };

  beforeAll(async () => {
    await createFunction(name, "uuid-scratch", 128, 8);
    firstFailure = await invokeUntilFailure(name);
    // Two more, so the findings see failures after the first one too.
    await lambda.send(new InvokeCommand({ FunctionName: name }));
    await lambda.send(new InvokeCommand({ FunctionName: name }));
  }, 120_000);

  it("fails with ENOSPC", () => {
    expect(firstFailure.error).toContain("ENOSPC");
  });

  it("names the first ENOSPC invocation", async () => {
    const findings = await findingsOf(name);

    expect(findings.trends.tmpBytes.failedAtInvocation).toBe(firstFailure.invocation);
    expect(findings.messages.join("\n")).toContain(
      `the first ENOSPC was at invocation ${firstFailure.invocation}.`,
    );
  });

  it("calls a 97% probe nearly full", async () => {
    const findings = await findingsOf(name);
    const reached = findings.trends.tmpBytes.reachedAtInvocation;

    expect(reached).toBeDefined();
    expect(reached).toBeLessThan(firstFailure.invocation);
    expect(findings.messages.join("\n")).toContain(`nearly full (97%) at invocation ${reached}`);
    expect(findings.messages.join("\n")).not.toContain("from then on");
  });

  it("groups UUID file names into one pattern", async () => {
    const findings = await findingsOf(name);

    expect(findings.tmpGrowth.map((group) => group.pattern)).toEqual(["/tmp/scratch-*.bin"]);
    expect(findings.messages.join("\n")).not.toContain("more /tmp file");
  });

  it("prints the first ENOSPC from inspect", async () => {
    const result = await runCli(["inspect", name, "--endpoint", simulator.endpoint]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `the first ENOSPC was at invocation ${firstFailure.invocation}.`,
    );
  });
});

describe("memory that grows until the out-of-memory kill", () => {
  const name = "memory-cache";
  let killed: { invocation: number; error: string };

  beforeAll(async () => {
    await createFunction(name, "memory-cache", 128, 4);
    killed = await invokeUntilFailure(name);
    // The reset runtime starts again with little memory; these probes must not end the leak.
    await lambda.send(new InvokeCommand({ FunctionName: name }));
    await lambda.send(new InvokeCommand({ FunctionName: name }));
  }, 120_000);

  it("fails with Runtime.OutOfMemory", () => {
    expect(killed.error).toContain("Runtime.OutOfMemory");
  });

  it("reports the growth up to the kill", async () => {
    const findings = await findingsOf(name);
    const memory = findings.trends.memoryBytes;

    expect(memory.leaking).toBe(true);
    expect(memory.endedByReset).toEqual({
      invocationNumber: killed.invocation,
      outcome: "out-of-memory",
    });
    expect(memory.perInvocation / (1024 * 1024)).toBeGreaterThan(3);
  });

  it("names the kill in the message", async () => {
    const findings = await findingsOf(name);

    expect(findings.messages.join("\n")).toMatch(
      new RegExp(
        `^Resident memory grew \\+[\\d.]+ MB per invocation until the out-of-memory kill at invocation ${killed.invocation};`,
        "m",
      ),
    );
  });

  it("prints a finding from inspect", async () => {
    const result = await runCli(["inspect", name, "--endpoint", simulator.endpoint]);

    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("No findings");
    expect(result.stdout).toContain(
      `until the out-of-memory kill at invocation ${killed.invocation}`,
    );
  });
});

describe("inspect of an unknown function", () => {
  beforeAll(async () => {
    await createFunction("listed-function", "uuid-scratch", 128, 1);
  });

  it("prints one line and exits with 1", async () => {
    const result = await runCli(["inspect", "no-such-function", "--endpoint", simulator.endpoint]);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(
      `Function "no-such-function" not found on ${simulator.endpoint}.`,
    );
    expect(result.stderr).not.toContain("GET ");
  });

  it("lists the functions that exist", async () => {
    const result = await runCli(["inspect", "no-such-function", "--endpoint", simulator.endpoint]);

    expect(result.stderr).toMatch(/Its functions: [^.]*\blisted-function\b/);
    expect(result.stderr).toContain("aws lambda list-functions --endpoint-url");
  });
});
