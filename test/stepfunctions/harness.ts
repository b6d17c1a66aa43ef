/**
 * Test harness: a real edge server with the Step Functions plugin on
 * 127.0.0.1 and the real SFNClient pointed at it. NodeFunctionInvoker
 * replaces the Lambda service by running plain Node functions in this
 * process, until tests go through the real Lambda service.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { type Clock, RealClock } from "../../simulator/clock.ts";
import { createEdgeServer } from "../../simulator/edge/edge-server.ts";
import { SERVICE_PREFIX } from "../../simulator/edge/service-routing.ts";
import { LambdaError, ResourceNotFoundException } from "../../simulator/lambda/errors.ts";
import type { InvokeRequest, InvokeResult } from "../../simulator/lambda/types.ts";
import { stepFunctionsPlugin } from "../../simulator/stepfunctions/api/plugin.ts";
import type { ObjectStore } from "../../simulator/stepfunctions/interpreter/types.ts";
import { StepFunctionsService } from "../../simulator/stepfunctions/service.ts";

/** A test function: receives the event, returns the result or throws. */
export type NodeFunction = (
  event: unknown,
  context: { functionName: string; attempt: number },
) => unknown | Promise<unknown>;

/**
 * Stand-in for the Lambda service: resolves a function name or ARN to a Node
 * function. A thrown LambdaError is an invoke failure (throttle, missing
 * function); any other throw is a function error with Lambda's
 * `{errorType, errorMessage, trace}` payload.
 */
export class NodeFunctionInvoker {
  readonly calls: { functionName: string; event: unknown }[] = [];
  readonly #functions: Record<string, NodeFunction>;
  readonly #attempts = new Map<string, number>();

  constructor(functions: Record<string, NodeFunction>) {
    this.#functions = functions;
  }

  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    const name = request.functionName.includes(":function:")
      ? request.functionName.split(":function:")[1].split(":")[0]
      : request.functionName;
    const handler = this.#functions[name];
    if (!handler)
      throw new ResourceNotFoundException(
        `Function not found: arn:aws:lambda:us-east-1:123456789012:function:${name}`,
      );
    const event = JSON.parse(request.payload.toString("utf8"));
    this.calls.push({ functionName: name, event });
    const attempt = (this.#attempts.get(name) ?? 0) + 1;
    this.#attempts.set(name, attempt);
    const requestId = randomUUID();
    try {
      const result = await handler(event, { functionName: name, attempt });
      return {
        statusCode: 200,
        payload: Buffer.from(JSON.stringify(result ?? null)),
        executedVersion: "$LATEST",
        requestId,
      };
    } catch (error) {
      if (error instanceof LambdaError) throw error;
      const failure = error as Error;
      const payload = {
        errorType: failure.name,
        errorMessage: failure.message,
        trace: [`${failure.name}: ${failure.message}`],
      };
      return {
        statusCode: 200,
        payload: Buffer.from(JSON.stringify(payload)),
        functionError: "Unhandled",
        executedVersion: "$LATEST",
        requestId,
      };
    }
  }
}

/** Creates an error whose `name` Lambda reports as the errorType. */
export function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** In-memory buckets for Distributed Map tests. */
export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, Buffer>();
  async getObject(bucket: string, key: string): Promise<Buffer> {
    const body = this.objects.get(`${bucket}/${key}`);
    if (!body) throw new Error(`NoSuchKey: ${bucket}/${key}`);
    return body;
  }
  async putObject(bucket: string, key: string, body: Buffer | string): Promise<void> {
    this.objects.set(`${bucket}/${key}`, Buffer.from(body));
  }
  async listObjects(bucket: string, prefix = "") {
    return [...this.objects.entries()]
      .filter(([name]) => name.startsWith(`${bucket}/${prefix}`))
      .map(([name, body]) => ({
        Key: name.slice(bucket.length + 1),
        Size: body.length,
        ETag: '"etag"',
        LastModified: "2024-01-01T00:00:00Z",
      }));
  }
}

export interface Harness {
  client: SFNClient;
  service: StepFunctionsService;
  invoker: NodeFunctionInvoker;
  s3: MemoryObjectStore;
  dataDir: string;
  app: FastifyInstance;
  close(options?: { keepData?: boolean }): Promise<void>;
}

export const ROLE_ARN = "arn:aws:iam::123456789012:role/StepFunctionsRole";

/** Starts a server with the plugin and returns an SDK client for it. */
export async function startHarness(
  options: { functions?: Record<string, NodeFunction>; clock?: Clock; dataDir?: string } = {},
): Promise<Harness> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), "warmstate-sfn-")));
  const logger = pino({ level: process.env.WARMSTATE_TEST_LOG ?? "silent" });
  const invoker = new NodeFunctionInvoker(options.functions ?? {});
  const s3 = new MemoryObjectStore();
  const service = new StepFunctionsService({
    dataDir,
    clock: options.clock ?? new RealClock(),
    logger,
    invoker,
    s3,
  });
  await service.ready;
  const app = createEdgeServer({ logger });
  await app.register(stepFunctionsPlugin, { prefix: SERVICE_PREFIX.states, service });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  const client = new SFNClient({
    endpoint: address,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    // StartSyncExecution prefixes the host with "sync-", which a local
    // endpoint cannot resolve.
    disableHostPrefix: true,
    maxAttempts: 1,
  });
  return {
    client,
    service,
    invoker,
    s3,
    dataDir,
    app,
    async close(closeOptions = {}) {
      client.destroy();
      await app.close();
      if (!closeOptions.keepData && !options.dataDir)
        await rm(dataDir, { recursive: true, force: true });
    },
  };
}

let machineCounter = 0;

/** Creates a state machine with a fresh name and returns its ARN. */
export async function createMachine(
  harness: Harness,
  definition: unknown,
  type: "STANDARD" | "EXPRESS" = "STANDARD",
): Promise<string> {
  const result = await harness.client.send(
    new CreateStateMachineCommand({
      name: `machine-${++machineCounter}-${randomUUID().slice(0, 8)}`,
      definition: typeof definition === "string" ? definition : JSON.stringify(definition),
      roleArn: ROLE_ARN,
      type,
    }),
  );
  return result.stateMachineArn as string;
}

/** Creates a machine, runs one execution to its end and describes it. */
export async function runToEnd(
  harness: Harness,
  definition: unknown,
  input: unknown = {},
): Promise<DescribeExecutionCommandOutput & { executionArn: string }> {
  const machineArn = await createMachine(harness, definition);
  const started = await harness.client.send(
    new StartExecutionCommand({ stateMachineArn: machineArn, input: JSON.stringify(input) }),
  );
  const executionArn = started.executionArn as string;
  await harness.service.waitForExecution(executionArn);
  const described = await harness.client.send(new DescribeExecutionCommand({ executionArn }));
  return { ...described, executionArn };
}
