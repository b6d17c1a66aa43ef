/**
 * The Step Functions API as a Fastify plugin: AWS JSON 1.0, one POST route,
 * the operation named by `X-Amz-Target: AWSStepFunctions.<Operation>`, and
 * errors as `{"__type": name, "message": text}` with their status.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/Welcome.html
 */
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { apiErrors, SfnApiError } from "../errors.ts";
import type { StepFunctionsService } from "../service.ts";
import { parseRequest } from "./request-schemas.ts";

type Operation = (
  service: StepFunctionsService,
  input: Record<string, unknown>,
) => Promise<Record<string, unknown>>;

const OPERATIONS: Record<string, Operation> = {
  CreateStateMachine: (service, input) => service.createStateMachine(input),
  DescribeStateMachine: (service, input) => service.describeStateMachine(input),
  ValidateStateMachineDefinition: (service, input) => service.validateStateMachineDefinition(input),
  UpdateStateMachine: (service, input) => service.updateStateMachine(input),
  DeleteStateMachine: (service, input) => service.deleteStateMachine(input),
  ListStateMachines: (service, input) => service.listStateMachines(input),
  StartExecution: (service, input) => service.startExecution(input),
  StartSyncExecution: (service, input) => service.startSyncExecution(input),
  DescribeExecution: (service, input) => service.describeExecution(input),
  DescribeStateMachineForExecution: (service, input) =>
    service.describeStateMachineForExecution(input),
  StopExecution: (service, input) => service.stopExecution(input),
  ListExecutions: (service, input) => service.listExecutions(input),
  GetExecutionHistory: (service, input) => service.getExecutionHistory(input),
  ListMapRuns: (service, input) => service.listMapRuns(input),
  DescribeMapRun: (service, input) => service.describeMapRun(input),
  RedriveExecution: (service, input) => service.redriveExecution(input),
  SendTaskSuccess: (service, input) => service.sendTaskSuccess(input),
  SendTaskFailure: (service, input) => service.sendTaskFailure(input),
  SendTaskHeartbeat: (service, input) => service.sendTaskHeartbeat(input),
  TestState: (service, input) => service.testState(input),
  TagResource: (service, input) => service.tagResource(input),
  UntagResource: (service, input) => service.untagResource(input),
  ListTagsForResource: (service, input) => service.listTagsForResource(input),
};

/** Operation names in alphabetical order, for the error on an unsupported operation. */
export const SUPPORTED_OPERATIONS = Object.keys(OPERATIONS).sort();

const CONTENT_TYPE = "application/x-amz-json-1.0";

/** Serves the Step Functions API of `service`; register it under SERVICE_PREFIX.states. */
export const stepFunctionsPlugin: FastifyPluginAsync<{ service: StepFunctionsService }> = async (
  app,
  options,
) => {
  const { service } = options;

  app.addContentTypeParser(CONTENT_TYPE, { parseAs: "string" }, (_request, body, done) =>
    done(null, body),
  );
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) =>
    done(null, body),
  );

  app.post("/", async (request, reply) => {
    const target = request.headers["x-amz-target"];
    try {
      if (typeof target !== "string" || !target.startsWith("AWSStepFunctions.")) {
        throw apiErrors.missingTarget(String(target ?? ""));
      }
      const operationName = target.slice("AWSStepFunctions.".length);
      const operation = Object.hasOwn(OPERATIONS, operationName)
        ? OPERATIONS[operationName]
        : undefined;
      if (!operation) throw apiErrors.unknownOperation(operationName, SUPPORTED_OPERATIONS);

      const input = parseRequest(operationName, parseBody(request.body));
      const output = await operation(service, input);
      return send(reply, 200, stripUndefined(output));
    } catch (error) {
      if (error instanceof SfnApiError) {
        request.log.debug({ target, error: error.name }, "step functions request rejected");
        return send(reply, error.statusCode, error.toBody());
      }
      request.log.error({ err: error, target }, "step functions request failed");
      return send(reply, 500, {
        __type: "InternalFailure",
        message: `The simulator failed on this request: ${(error as Error).message}`,
      });
    }
  });

  app.addHook("onClose", async () => {
    await service.close();
  });
};

function parseBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null || body === "") return {};
  if (typeof body !== "string") return body as Record<string, unknown>;
  try {
    const parsed = JSON.parse(body);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new Error("the body is not a JSON object");
    return parsed;
  } catch (error) {
    throw apiErrors.serialization(
      `The request body is not a JSON object: ${(error as Error).message}`,
    );
  }
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  // A Buffer body keeps Fastify from appending "; charset=utf-8", which AWS does not send.
  return reply
    .code(status)
    .header("content-type", CONTENT_TYPE)
    .send(Buffer.from(JSON.stringify(body)));
}

/** Drops undefined fields so optional members are absent, as AWS sends them. */
function stripUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value));
}
