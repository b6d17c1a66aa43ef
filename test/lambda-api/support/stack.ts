import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LambdaClient } from "@aws-sdk/client-lambda";
import type { Clock } from "../../../simulator/clock.ts";
import { startSimulator } from "../../../simulator/index.ts";
import type { AsyncInvocationQueue } from "../../../simulator/lambda/async/async-invocation-queue.ts";
import type { FunctionRegistry } from "../../../simulator/lambda/function-registry.ts";
import type { LambdaService } from "../../../simulator/lambda/lambda-service.ts";
import type { LogStore } from "../../../simulator/lambda/logs/log-store.ts";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** Folder of this area's fixture functions. */
export const FUNCTION_FIXTURES = path.join(REPO_ROOT, "test/fixtures/functions");

/**
 * Creates a data folder for one test run. It lives under the repository's
 * `.warmstate/` (ignored by git), not the OS temp folder: process sandboxes
 * mount a private /tmp, which would hide code unpacked under /tmp.
 */
export function makeDataDir(label: string): string {
  const parent = path.join(REPO_ROOT, ".warmstate", "test-runs");
  mkdirSync(parent, { recursive: true });
  const dataDir = mkdtempSync(path.join(parent, `${label}-`));
  // mkdtemp creates 0700 folders; the sandbox user must be able to read the code in it.
  chmodSync(dataDir, 0o755);
  return dataDir;
}

/** A running simulator with direct handles on the parts these tests inspect. */
export interface Stack {
  endpoint: string;
  dataDir: string;
  registry: FunctionRegistry;
  service: LambdaService<FunctionRegistry>;
  logs: LogStore;
  queue: AsyncInvocationQueue;
  lambda: LambdaClient;
  close(): Promise<void>;
}

/**
 * Starts the simulator with `startSimulator` (real process sandboxes) in a
 * fresh data folder, plus an SDK client that accepts any credentials.
 */
export async function startStack(options: { clock?: Clock } = {}): Promise<Stack> {
  const dataDir = makeDataDir("lambda-api");
  const simulator = await startSimulator({
    dataDir,
    clock: options.clock,
    logLevel: process.env.WARMSTATE_TEST_LOG ?? "silent",
  });

  const lambda = new LambdaClient({
    endpoint: simulator.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "any-key", secretAccessKey: "any-secret" },
    // Throttles and errors must reach the test instead of being retried away.
    maxAttempts: 1,
  });

  return {
    endpoint: simulator.endpoint,
    dataDir,
    registry: simulator.lambda.registry,
    service: simulator.lambda,
    logs: simulator.logs,
    queue: simulator.asyncQueue,
    lambda,
    async close() {
      lambda.destroy();
      await simulator.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
