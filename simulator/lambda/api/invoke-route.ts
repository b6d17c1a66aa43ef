import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AsyncInvocationQueue } from "../async/async-invocation-queue.ts";
import { InvalidParameterValueException, ResourceConflictException } from "../errors.ts";
import { assertJsonPayload } from "../lambda-service.ts";
import type { InvocationType } from "../types.ts";
import { combineQualifier, parseFunctionReference } from "./function-name.ts";
import type { LambdaServiceLike } from "./service-like.ts";
import { queryParameter, RequestEntityTooLargeException } from "./wire.ts";

// Invoke payload quotas: 6 MB for synchronous requests, 1 MB for
// asynchronous (Event) requests, raised from 256 KB.
// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
export const SYNC_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;
export const ASYNC_PAYLOAD_LIMIT_BYTES = 1024 * 1024;

// Read bodies larger than the quota so the route, not the HTTP layer, sends
// Lambda's 413 error with the size in it.
const INVOKE_BODY_LIMIT = 32 * 1024 * 1024;

const EMPTY_EVENT = Buffer.from("{}");

const INVOCATION_TYPES: readonly InvocationType[] = ["RequestResponse", "Event", "DryRun"];

type InvokeHttpRequest = FastifyRequest<{ Params: { FunctionName: string } }>;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Invoke: RequestResponse runs the function and returns its result, Event
 * queues it and returns 202, DryRun validates and returns 204.
 */
export function registerInvokeRoute(
  app: FastifyInstance,
  service: LambdaServiceLike,
  queue: AsyncInvocationQueue,
): void {
  app.post(
    "/2015-03-31/functions/:FunctionName/invocations",
    { bodyLimit: INVOKE_BODY_LIMIT },
    async (request: InvokeHttpRequest, reply) => {
      const invocationType = (header(request, "x-amz-invocation-type") ??
        "RequestResponse") as InvocationType;
      if (!INVOCATION_TYPES.includes(invocationType)) {
        throw new InvalidParameterValueException(
          `Invalid value for X-Amz-Invocation-Type: ${JSON.stringify(invocationType)} must be RequestResponse, Event or DryRun.`,
        );
      }
      const logType = header(request, "x-amz-log-type") ?? "None";
      if (logType !== "None" && logType !== "Tail") {
        throw new InvalidParameterValueException(
          `Invalid value for X-Amz-Log-Type: ${JSON.stringify(logType)} must be None or Tail.`,
        );
      }
      // An Invoke without a payload reaches the handler as an empty JSON object, as on Lambda.
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const payload = body.length > 0 ? body : EMPTY_EVENT;
      checkPayloadSize(payload, invocationType);
      // LambdaService.invoke checks the JSON of synchronous invocations; an
      // Event is only queued here, so its payload is checked before the 202.
      if (invocationType !== "RequestResponse") assertJsonPayload(payload);

      const reference = parseFunctionReference(request.params.FunctionName);
      const qualifier = combineQualifier(reference.qualifier, queryParameter(request, "Qualifier"));
      const resolved = service.registry.resolve(reference.functionName, qualifier);
      await waitUntilActive(service, reference.functionName, qualifier);

      if (invocationType === "DryRun") return reply.status(204).send();

      if (invocationType === "Event") {
        const requestId = queue.enqueue({
          functionName: reference.functionName,
          qualifier,
          payload,
          requestId: request.lambdaRequestId,
        });
        return reply.status(202).header("x-amzn-RequestId", requestId).send();
      }

      const result = await service.invoke({
        functionName: reference.functionName,
        qualifier,
        payload,
        invocationType: "RequestResponse",
        logType,
        clientContext: header(request, "x-amz-client-context"),
        requestId: request.lambdaRequestId,
      });
      reply
        .status(result.statusCode)
        .header("x-amzn-RequestId", result.requestId)
        .header("X-Amz-Executed-Version", result.executedVersion || resolved.version)
        .header("content-type", "application/json");
      if (result.functionError) reply.header("X-Amz-Function-Error", result.functionError);
      if (result.logResult !== undefined) reply.header("X-Amz-Log-Result", result.logResult);
      return reply.send(result.payload);
    },
  );
}

function checkPayloadSize(payload: Buffer, invocationType: InvocationType): void {
  if (invocationType === "Event" && payload.length > ASYNC_PAYLOAD_LIMIT_BYTES) {
    throw new RequestEntityTooLargeException(
      `${payload.length} byte payload is too large for the Event invocation type (limit ${ASYNC_PAYLOAD_LIMIT_BYTES} bytes)`,
    );
  }
  if (payload.length > SYNC_PAYLOAD_LIMIT_BYTES) {
    throw new RequestEntityTooLargeException(
      `Request must be smaller than ${SYNC_PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation`,
    );
  }
}

/**
 * Waits out the short Pending phase after CreateFunction.
 *
 * PARITY: Lambda rejects an Invoke of a Pending function with
 * ResourceConflictException. The simulator's Pending phase lasts a fraction
 * of a second, so it waits instead, and scripts that invoke right after
 * creating keep working; GetFunction still shows Pending to waiters.
 */
async function waitUntilActive(
  service: LambdaServiceLike,
  functionName: string,
  qualifier: string | undefined,
): Promise<void> {
  const registry = service.registry;
  const deadline = registry.clock.now() + registry.transitionMs * 4 + 1_000;
  let version = registry.getFunction(functionName, qualifier);
  while (version.state === "Pending" && registry.clock.now() < deadline) {
    await registry.clock.sleep(20);
    version = registry.getFunction(functionName, qualifier);
  }
  if (version.state !== "Active") {
    throw new ResourceConflictException(
      `The operation cannot be performed at this time. The function is currently in the following state: ${version.state}`,
    );
  }
}
