import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { adminPlugin } from "../../../simulator/admin/plugin.ts";
import { type Clock, RealClock } from "../../../simulator/clock.ts";
import { createEdgeServer } from "../../../simulator/edge/edge-server.ts";
import { SERVICE_PREFIX } from "../../../simulator/edge/service-routing.ts";
import { AsyncInvocationQueue } from "../../../simulator/lambda/async/async-invocation-queue.ts";
import { lambdaApiPlugin } from "../../../simulator/lambda/api/plugin.ts";
import { FunctionRegistry } from "../../../simulator/lambda/function-registry.ts";
import { LambdaService } from "../../../simulator/lambda/lambda-service.ts";
import { LogStore } from "../../../simulator/lambda/logs/log-store.ts";
import { logsApiPlugin } from "../../../simulator/lambda/logs/logs-api-plugin.ts";
import { RuntimeApiServer } from "../../../simulator/lambda/runtime-api/runtime-api-server.ts";
import { createLogger } from "../../../simulator/logger.ts";
import { ProcessBackend } from "../../../simulator/sandbox/process-backend.ts";

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

/** A running edge server with the Lambda, logs and admin APIs over real process sandboxes. */
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
 * Starts the same pieces `startSimulator` wires (registry, LambdaService,
 * process backend, Runtime API servers) plus this area's log store, logs API
 * and admin API, so tests can reach the queue and the log store directly.
 */
export async function startStack(options: { clock?: Clock; transitionMs?: number } = {}): Promise<Stack> {
  const dataDir = makeDataDir("lambda-api");
  const clock = options.clock ?? new RealClock();
  const logger = createLogger({ level: process.env.WARMSTATE_TEST_LOG ?? "silent" });

  const registry = new FunctionRegistry({ dataDir, clock, logger, transitionMs: options.transitionMs });
  const logs = new LogStore({ clock, dataDir });
  const backend = new ProcessBackend({ dataDir, logger, runtimeClientPath: path.join(REPO_ROOT, "simulator/runtime/index.mjs") });

  let endpoint = "";
  const service = new LambdaService({
    registry,
    backend,
    createRuntimeApi: () => RuntimeApiServer.start({ host: "127.0.0.1", logger }),
    clock,
    logger,
    logSink: logs,
    baseEnvironment: () => ({
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "warmstate",
      AWS_SECRET_ACCESS_KEY: "warmstate",
      PATH: process.env.PATH ?? "/usr/bin:/bin",
    }),
  });
  const queue = new AsyncInvocationQueue({ service });

  const server = createEdgeServer({ logger });
  await server.register(lambdaApiPlugin, { prefix: SERVICE_PREFIX.lambda, service, asyncQueue: queue });
  await server.register(logsApiPlugin, { prefix: SERVICE_PREFIX.logs, logs, functionNames: () => registry.functionNames() });
  await server.register(adminPlugin, { prefix: SERVICE_PREFIX.admin, service, logs, asyncQueue: queue });
  endpoint = await server.listen({ port: 0, host: "127.0.0.1" });

  const lambda = new LambdaClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "any-key", secretAccessKey: "any-secret" },
    // Throttles and errors must reach the test instead of being retried away.
    maxAttempts: 1,
  });

  return {
    endpoint,
    dataDir,
    registry,
    service,
    logs,
    queue,
    lambda,
    async close() {
      lambda.destroy();
      queue.close();
      await server.close();
      await service.close();
      await backend.close();
      registry.close();
      await logs.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
