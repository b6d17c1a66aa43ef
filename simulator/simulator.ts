import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { adminPlugin } from "./admin/plugin.ts";
import { type Clock, RealClock } from "./clock.ts";
import { diagnosticsPlugin } from "./diagnostics/plugin.ts";
import { createEdgeServer } from "./edge/edge-server.ts";
import { SERVICE_PREFIX } from "./edge/service-routing.ts";
import { lambdaApiPlugin } from "./lambda/api/plugin.ts";
import { AsyncInvocationQueue } from "./lambda/async/async-invocation-queue.ts";
import { sandboxCodeAccessOf } from "./lambda/code-folder-checks.ts";
import { FunctionRegistry } from "./lambda/function-registry.ts";
import { LambdaService } from "./lambda/lambda-service.ts";
import { LogStore } from "./lambda/logs/log-store.ts";
import { logsApiPlugin } from "./lambda/logs/logs-api-plugin.ts";
import { RuntimeApiServer } from "./lambda/runtime-api/runtime-api-server.ts";
import { createLogger, type Logger } from "./logger.ts";
import { ObjectStore } from "./s3/object-store.ts";
import { s3Plugin } from "./s3/s3-plugin.ts";
import { stateMachineObjects } from "./s3/state-machine-objects.ts";
import type { BackendName, SandboxBackend } from "./sandbox/backend.ts";
import { stepFunctionsPlugin } from "./stepfunctions/api/plugin.ts";
import { StepFunctionsService } from "./stepfunctions/service.ts";

/** Folder of the repository (or installed package) root. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The project's runtime client, started inside every Node.js sandbox. */
export const RUNTIME_CLIENT_DIR = path.join(PACKAGE_ROOT, "simulator", "runtime");

/** The account id in every ARN the simulator makes. */
export const ACCOUNT_ID = "000000000000";

/** Options of {@link startSimulator}. */
export interface SimulatorOptions {
  /** Edge port; 0 picks a free one (the default here; `warmstate serve` uses 4700). */
  port?: number;
  /** Address to bind (default 127.0.0.1, loopback only). */
  host?: string;
  /** Sandbox backend: `process` (default, no daemon) or `docker`. */
  backend?: BackendName;
  /** Folder of functions, objects, executions and sandboxes (default `.warmstate`). */
  dataDir?: string;
  /** The simulator's clock: real time unless a replay passes a VirtualClock. */
  clock?: Clock;
  /** pino level: `info` by default. */
  logLevel?: string;
  /** Write structured logs to this file instead of stdout. */
  logFile?: string;
  /** A logger to use as is (overrides logLevel and logFile). */
  logger?: Logger;
  /** AWS region the simulator reports (default us-east-1). */
  region?: string;
  /**
   * Sample each environment's descriptors, /tmp and memory after every
   * invocation (default true). Turning it off only serves to measure what
   * the probes cost; leak diagnostics need them.
   */
  probes?: boolean;
}

/** A running simulator. */
export interface Simulator {
  /** `http://HOST:PORT`: the endpoint for every AWS SDK client. */
  endpoint: string;
  backendName: BackendName;
  clock: Clock;
  logger: Logger;
  dataDir: string;
  lambda: LambdaService<FunctionRegistry>;
  /** Queue of Event invocations, with Lambda's retries and destinations. */
  asyncQueue: AsyncInvocationQueue;
  /** Every log line of every function. */
  logs: LogStore;
  stepFunctions: StepFunctionsService;
  objectStore: ObjectStore;
  /** The edge server, for registering extra plugins in tests. */
  server: FastifyInstance;
  /** Stops the servers and every execution environment; leaves nothing behind. */
  close(): Promise<void>;
}

/**
 * Starts the simulator in this process: the edge server with every API, the
 * Lambda service with its pool, and the sandbox backend.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const dataDir = path.resolve(options.dataDir ?? ".warmstate");
  mkdirSync(dataDir, { recursive: true });
  const clock = options.clock ?? new RealClock();
  const logger =
    options.logger ?? createLogger({ level: options.logLevel, destination: options.logFile });
  const host = options.host ?? "127.0.0.1";
  const region = options.region ?? "us-east-1";
  const backendName = options.backend ?? "process";

  const backend = await createBackend(backendName, dataDir, logger);
  await backend.removeOrphans();

  const server = createEdgeServer({ logger });
  let endpoint = "";
  const registry = new FunctionRegistry({
    dataDir,
    clock,
    logger,
    region,
    accountId: ACCOUNT_ID,
    codeAccess: await sandboxCodeAccessOf(backend),
  });
  const logs = new LogStore({ clock, dataDir });
  const lambda = new LambdaService({
    registry,
    backend,
    createRuntimeApi: () => RuntimeApiServer.start({ host: "127.0.0.1", logger }),
    clock,
    logger,
    logSink: logs,
    baseEnvironment: () => sandboxBaseEnvironment(endpoint, region),
    probes: options.probes,
  });
  const asyncQueue = new AsyncInvocationQueue({ service: lambda, logger });
  const objectStore = new ObjectStore({ root: path.join(dataDir, "s3") });
  await objectStore.open();
  const stepFunctions = new StepFunctionsService({
    dataDir,
    clock,
    logger,
    invoker: lambda,
    s3: stateMachineObjects(objectStore),
    region,
    accountId: ACCOUNT_ID,
  });
  await stepFunctions.ready;

  await server.register(lambdaApiPlugin, {
    prefix: SERVICE_PREFIX.lambda,
    service: lambda,
    asyncQueue,
  });
  await server.register(logsApiPlugin, { prefix: SERVICE_PREFIX.logs, logs });
  await server.register(s3Plugin, { prefix: SERVICE_PREFIX.s3, store: objectStore });
  await server.register(stepFunctionsPlugin, {
    prefix: SERVICE_PREFIX.states,
    service: stepFunctions,
  });
  await server.register(adminPlugin, {
    prefix: SERVICE_PREFIX.admin,
    service: lambda,
    logs,
    asyncQueue,
  });
  await server.register(diagnosticsPlugin, { prefix: SERVICE_PREFIX.admin, lambda });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await server.close();
      await stepFunctions.close();
      await asyncQueue.close();
      await lambda.close();
      await backend.close();
      registry.close();
      await logs.close();
      logger.info("simulator stopped");
    })();
    return closing;
  };

  let address: string;
  try {
    address = await server.listen({ port: options.port ?? 0, host });
  } catch (error) {
    // The port is taken, for example: stop what was started, and leave no cgroup behind.
    await close();
    throw error;
  }
  endpoint = address.replace("[::1]", "127.0.0.1");
  logger.info({ endpoint, backend: backendName, dataDir }, "simulator started");

  return {
    endpoint,
    backendName,
    clock,
    logger,
    dataDir,
    lambda,
    asyncQueue,
    logs,
    stepFunctions,
    objectStore,
    server,
    close,
  };
}

async function createBackend(
  name: BackendName,
  dataDir: string,
  logger: Logger,
): Promise<SandboxBackend> {
  if (name === "docker") {
    const { DockerBackend } = await import("./sandbox/docker-backend.ts");
    return new DockerBackend({
      dataDir,
      logger,
      runtimeClientDir: RUNTIME_CLIENT_DIR,
      nodeModulesDir: path.join(PACKAGE_ROOT, "node_modules"),
    });
  }
  const { ProcessBackend } = await import("./sandbox/process-backend.ts");
  return new ProcessBackend({
    dataDir,
    logger,
    runtimeClientPath: path.join(RUNTIME_CLIENT_DIR, "index.mjs"),
  });
}

/**
 * Variables that let an unmodified AWS SDK client inside a sandbox reach this
 * simulator: the SDK reads AWS_ENDPOINT_URL for every service.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
 */
function sandboxBaseEnvironment(endpoint: string, region: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: "warmstate",
    AWS_SECRET_ACCESS_KEY: "warmstate",
    AWS_SESSION_TOKEN: "warmstate",
    // The bundled functions read this to use path-style S3 addressing, which
    // is how the simulator serves buckets.
    S3_FORCE_PATH_STYLE: "true",
    // PARITY: Lambda leaves HOME unset, but its sandbox user has a passwd
    // entry, so os.homedir() works. Process sandboxes run as a uid without
    // one, and the AWS SDK's config loader calls os.homedir().
    HOME: "/tmp",
    NODE_PATH: path.join(PACKAGE_ROOT, "node_modules"),
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
  };
}
