/**
 * Task states that call Lambda: a function ARN as Resource (history events
 * LambdaFunction*), the optimized `arn:aws:states:::lambda:invoke`
 * integration (Task* events) and its `.waitForTaskToken` variant.
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
 */
import { randomUUID } from "node:crypto";
import { LambdaError } from "../../lambda/errors.ts";
import type { InvokeRequest, InvokeResult } from "../../lambda/types.ts";
import { AbortedError, StatesError } from "../errors.ts";
import { NOT_TRUNCATED } from "../history.ts";
import { evaluateJsonata, isJsonataExpression } from "../paths/jsonata.ts";
import { resolvePath } from "../paths/payload.ts";
import { MAX_TIMER_MS } from "./cancellation.ts";
import type { Engine } from "./engine.ts";
import type { StateOutcome, StateRun } from "./types.ts";

const LAMBDA_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/;
const OPTIMIZED_INVOKE = "arn:aws:states:::lambda:invoke";

/** Runs one attempt of a Task state. */
export async function runTask(engine: Engine, run: StateRun): Promise<StateOutcome> {
  const { state } = run;
  const resource = state.Resource as string;
  const waitForToken = resource.endsWith(".waitForTaskToken");
  const token = waitForToken ? engine.tokens.create() : undefined;
  const payload =
    run.language === "JSONPath"
      ? engine.effectiveJsonPathInput(run, token)
      : await engine.effectiveInput(run, token);
  let timeoutSeconds = readSeconds(
    engine,
    run,
    state.TimeoutSeconds,
    state.TimeoutSecondsPath,
    "TimeoutSeconds",
  );
  if (timeoutSeconds instanceof Promise) timeoutSeconds = await timeoutSeconds;
  let heartbeatSeconds = readSeconds(
    engine,
    run,
    state.HeartbeatSeconds,
    state.HeartbeatSecondsPath,
    "HeartbeatSeconds",
  );
  if (heartbeatSeconds instanceof Promise) heartbeatSeconds = await heartbeatSeconds;

  let result: unknown;
  if (LAMBDA_ARN.test(resource)) {
    result = await invokeDirect(engine, run, resource, payload, timeoutSeconds);
  } else if (resource === OPTIMIZED_INVOKE || resource === `${OPTIMIZED_INVOKE}.waitForTaskToken`) {
    result = await invokeOptimized(engine, run, payload, {
      timeoutSeconds,
      heartbeatSeconds,
      token,
    });
  } else {
    throw new StatesError(
      "States.Runtime",
      `The resource '${resource}' is not supported by the simulator; use a Lambda function ARN or ${OPTIMIZED_INVOKE}.`,
    );
  }

  // encode() reuses the text the history event already holds for this result.
  engine.checkSize(run.name, engine.encode(run.frame, result));
  return engine.finish(run, result, state.ResultSelector, state.ResultPath);
}

/** Reads TimeoutSeconds or HeartbeatSeconds; only a JSONata expression makes this asynchronous. */
function readSeconds(
  engine: Engine,
  run: StateRun,
  value: number | string | undefined,
  path: string | undefined,
  field: string,
): number | undefined | Promise<number | undefined> {
  if (value === undefined && path === undefined) return undefined;
  if (isJsonataExpression(value)) {
    return evaluateJsonata(
      value,
      { input: run.rawInput, context: engine.context(run) },
      run.frame.variables,
    ).then((seconds) => checkSeconds(seconds, field));
  }
  let seconds: unknown = value;
  if (path !== undefined) {
    const resolved = resolvePath(path, engine.scope(run, run.rawInput));
    if (!resolved.found)
      throw new StatesError(
        "States.Runtime",
        `Invalid path '${path}' : No results for path: ${path}`,
      );
    seconds = resolved.value;
  }
  return checkSeconds(seconds, field);
}

function checkSeconds(seconds: unknown, field: string): number | undefined {
  if (seconds === undefined) return undefined;
  if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds <= 0) {
    throw new StatesError(
      "States.Runtime",
      `The value of ${field} must be a positive integer, received ${JSON.stringify(seconds)}`,
    );
  }
  return seconds;
}

/** Resource is a function ARN: the effective input is the event, the payload is the result. */
async function invokeDirect(
  engine: Engine,
  run: StateRun,
  arn: string,
  payload: unknown,
  timeoutSeconds: number | undefined,
): Promise<unknown> {
  const { frame } = run;
  const inputText = engine.encode(frame, payload);
  const scheduled: Record<string, unknown> = {
    resource: arn,
    input: inputText,
    inputDetails: NOT_TRUNCATED,
  };
  if (timeoutSeconds !== undefined) scheduled.timeoutInSeconds = timeoutSeconds;
  engine.addEvent(
    frame,
    "LambdaFunctionScheduled",
    "lambdaFunctionScheduledEventDetails",
    scheduled,
  );
  engine.addEvent(frame, "LambdaFunctionStarted");

  let result: InvokeResult;
  try {
    result = await invokeWithTimeout(
      engine,
      run,
      { functionName: arn, payload: Buffer.from(inputText) },
      timeoutSeconds,
    );
  } catch (error) {
    // A call abandoned because the state was aborted gets no LambdaFunction*
    // event. The state gets only the TaskStateAborted that runState records.
    if (error instanceof AbortedError) throw error;
    const failure = toStatesError(error);
    const type =
      failure.name === "States.Timeout" ? "LambdaFunctionTimedOut" : "LambdaFunctionFailed";
    const key =
      failure.name === "States.Timeout"
        ? "lambdaFunctionTimedOutEventDetails"
        : "lambdaFunctionFailedEventDetails";
    engine.addEvent(frame, type, key, errorDetails(failure));
    throw failure;
  }

  if (result.functionError) {
    const failure = functionFailure(result);
    engine.addEvent(
      frame,
      "LambdaFunctionFailed",
      "lambdaFunctionFailedEventDetails",
      errorDetails(failure),
    );
    throw failure;
  }
  const output = parsePayload(result.payload);
  engine.addEvent(frame, "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails", {
    output: engine.encode(frame, output),
    outputDetails: NOT_TRUNCATED,
  });
  return output;
}

interface OptimizedOptions {
  timeoutSeconds: number | undefined;
  heartbeatSeconds: number | undefined;
  token: string | undefined;
}

/**
 * `arn:aws:states:::lambda:invoke`: Parameters name the function and the
 * Payload; the result wraps the response as
 * `{ExecutedVersion, Payload, SdkHttpMetadata, SdkResponseMetadata, StatusCode}`.
 */
async function invokeOptimized(
  engine: Engine,
  run: StateRun,
  parameters: unknown,
  options: OptimizedOptions,
): Promise<unknown> {
  const { frame } = run;
  const resource = options.token ? "invoke.waitForTaskToken" : "invoke";
  const base = { resourceType: "lambda", resource };
  const parametersText = JSON.stringify(parameters) ?? "null";
  const scheduled: Record<string, unknown> = {
    ...base,
    region: engine.region,
    parameters: parametersText,
  };
  if (options.timeoutSeconds !== undefined) scheduled.timeoutInSeconds = options.timeoutSeconds;
  if (options.heartbeatSeconds !== undefined)
    scheduled.heartbeatInSeconds = options.heartbeatSeconds;
  engine.addEvent(frame, "TaskScheduled", "taskScheduledEventDetails", scheduled);
  engine.addEvent(frame, "TaskStarted", "taskStartedEventDetails", base);

  const fail = (failure: StatesError): StatesError => {
    const timedOut =
      failure.name === "States.Timeout" || failure.name === "States.HeartbeatTimeout";
    engine.addEvent(
      frame,
      timedOut ? "TaskTimedOut" : "TaskFailed",
      timedOut ? "taskTimedOutEventDetails" : "taskFailedEventDetails",
      {
        ...base,
        ...errorDetails(failure),
      },
    );
    return failure;
  };

  // The token is open from the moment the task is scheduled: a callback may
  // arrive while the function is still running.
  const callback = options.token
    ? waitForCallback(engine, run, options.token, options.timeoutSeconds, options.heartbeatSeconds)
    : undefined;
  callback?.catch(() => {});
  let output: unknown;
  try {
    const request = toInvokeRequest(parameters);
    const response = await invokeWithTimeout(
      engine,
      run,
      request,
      options.token ? undefined : options.timeoutSeconds,
    );
    if (response.functionError) throw functionFailure(response);
    output = {
      ExecutedVersion: response.executedVersion,
      Payload: parsePayload(response.payload),
      SdkHttpMetadata: httpMetadata(engine, response),
      SdkResponseMetadata: { RequestId: response.requestId },
      StatusCode: response.statusCode,
    };
  } catch (error) {
    if (options.token) engine.tokens.close(options.token);
    if (error instanceof AbortedError) throw error;
    throw fail(toStatesError(error));
  }

  if (!callback) {
    engine.addEvent(frame, "TaskSucceeded", "taskSucceededEventDetails", {
      ...base,
      output: engine.encode(frame, output),
      outputDetails: NOT_TRUNCATED,
    });
    return output;
  }

  engine.addEvent(frame, "TaskSubmitted", "taskSubmittedEventDetails", {
    ...base,
    output: JSON.stringify(output),
    outputDetails: NOT_TRUNCATED,
  });
  let callbackOutput: unknown;
  try {
    callbackOutput = await callback;
  } catch (error) {
    if (error instanceof AbortedError) throw error;
    throw fail(toStatesError(error));
  }
  engine.addEvent(frame, "TaskSucceeded", "taskSucceededEventDetails", {
    ...base,
    output: engine.encode(frame, callbackOutput),
    outputDetails: NOT_TRUNCATED,
  });
  return callbackOutput;
}

/** Builds the SdkHttpMetadata of a lambda:invoke result: the response headers, as the AWS SDK for Java records them. */
function httpMetadata(engine: Engine, response: InvokeResult): Record<string, unknown> {
  const date = new Date(engine.clock.now()).toUTCString();
  const length = String(response.payload.length);
  return {
    AllHttpHeaders: {
      "X-Amz-Executed-Version": [response.executedVersion],
      "x-amzn-Remapped-Content-Length": ["0"],
      Connection: ["keep-alive"],
      "x-amzn-RequestId": [response.requestId],
      "Content-Length": [length],
      Date: [date],
      "Content-Type": ["application/json"],
    },
    HttpHeaders: {
      Connection: "keep-alive",
      "Content-Length": length,
      "Content-Type": "application/json",
      Date: date,
      "X-Amz-Executed-Version": response.executedVersion,
      "x-amzn-Remapped-Content-Length": "0",
      "x-amzn-RequestId": response.requestId,
    },
    HttpStatusCode: response.statusCode,
  };
}

function toInvokeRequest(parameters: unknown): InvokeRequest {
  if (parameters === null || typeof parameters !== "object" || Array.isArray(parameters)) {
    throw new StatesError(
      "States.Runtime",
      "The Parameters of lambda:invoke must be an object with FunctionName",
    );
  }
  const fields = parameters as Record<string, unknown>;
  if (typeof fields.FunctionName !== "string") {
    throw new StatesError(
      "States.Runtime",
      "The Parameters of lambda:invoke are missing the string field 'FunctionName'",
    );
  }
  // A missing Payload sends an empty JSON object.
  const payload = fields.Payload === undefined ? "{}" : JSON.stringify(fields.Payload);
  return {
    functionName: fields.FunctionName,
    qualifier: typeof fields.Qualifier === "string" ? fields.Qualifier : undefined,
    payload: Buffer.from(payload),
    invocationType:
      fields.InvocationType === "Event" || fields.InvocationType === "DryRun"
        ? fields.InvocationType
        : "RequestResponse",
    logType: fields.LogType === "Tail" ? ("Tail" as const) : undefined,
    clientContext: typeof fields.ClientContext === "string" ? fields.ClientContext : undefined,
  };
}

/** Invokes through the engine's invoker, racing the Task's timeout and cancellation. */
async function invokeWithTimeout(
  engine: Engine,
  run: StateRun,
  request: Parameters<Engine["invoker"]["invoke"]>[0],
  timeoutSeconds: number | undefined,
): Promise<InvokeResult> {
  const release = engine.clock.hold();
  const invocation = engine.invoker
    .invoke({ ...request, caller: engine.caller() })
    .finally(release);
  // Without TimeoutSeconds the default of 99999999 seconds never fires in practice.
  let timer: ReturnType<Engine["clock"]["setTimeout"]> | undefined;
  const racers: Promise<InvokeResult>[] = [invocation];
  if (timeoutSeconds !== undefined) {
    racers.push(
      new Promise<never>((_, reject) => {
        timer = engine.clock.setTimeout(
          () => reject(new StatesError("States.Timeout", undefined)),
          Math.min(timeoutSeconds * 1000, MAX_TIMER_MS),
        );
      }),
    );
  }
  try {
    return await run.frame.cancellation.race(
      racers.length === 1 ? invocation : Promise.race(racers),
    );
  } finally {
    engine.clock.clearTimeout(timer);
    invocation.catch(() => {});
  }
}

/**
 * Opens `token` and waits for SendTaskSuccess/Failure on it, failing with
 * States.Timeout after TimeoutSeconds and States.HeartbeatTimeout when no
 * heartbeat arrives for HeartbeatSeconds. Without TimeoutSeconds no timer is
 * set: AWS's default of 99999999 seconds never fires in practice.
 */
function waitForCallback(
  engine: Engine,
  run: StateRun,
  token: string,
  timeoutSeconds: number | undefined,
  heartbeatSeconds: number | undefined,
): Promise<unknown> {
  const { clock } = engine;
  return run.frame.cancellation.race(
    new Promise<unknown>((resolve, reject) => {
      let heartbeatTimer: ReturnType<typeof clock.setTimeout> | undefined;
      let timeoutTimer: ReturnType<typeof clock.setTimeout> | undefined;
      const settle = () => {
        clock.clearTimeout(timeoutTimer);
        clock.clearTimeout(heartbeatTimer);
        engine.tokens.close(token);
        removeCancel();
      };
      const armHeartbeat = () => {
        if (heartbeatSeconds === undefined) return;
        clock.clearTimeout(heartbeatTimer);
        heartbeatTimer = clock.setTimeout(
          () => {
            settle();
            reject(new StatesError("States.HeartbeatTimeout", undefined));
          },
          Math.min(heartbeatSeconds * 1000, MAX_TIMER_MS),
        );
      };
      if (timeoutSeconds !== undefined) {
        timeoutTimer = clock.setTimeout(
          () => {
            settle();
            reject(new StatesError("States.Timeout", undefined));
          },
          Math.min(timeoutSeconds * 1000, MAX_TIMER_MS),
        );
      }
      const removeCancel = run.frame.cancellation.onCancel(() => settle());
      armHeartbeat();
      engine.tokens.register(token, {
        resolve: (output) => {
          settle();
          resolve(output);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
        heartbeat: armHeartbeat,
      });
    }),
  );
}

/** A function error: Error is the errorType and Cause the payload text. */
function functionFailure(result: InvokeResult): StatesError {
  const text = result.payload.toString("utf8");
  let errorType: string | undefined;
  try {
    const parsed = JSON.parse(text) as { errorType?: unknown };
    if (typeof parsed?.errorType === "string") errorType = parsed.errorType;
  } catch {
    // A payload that is not JSON still fails the task; only the error name is unknown.
  }
  // NOTE: without an errorType the simulator names the error after X-Amz-Function-Error.
  return new StatesError(errorType ?? result.functionError ?? "Unhandled", text);
}

/** Maps an invoker exception to the `Lambda.*` error Retry and Catch see. */
function toStatesError(error: unknown): StatesError {
  if (error instanceof StatesError) return error;
  if (error instanceof LambdaError) {
    // Step Functions reports Lambda service exceptions as `Lambda.<Name>`
    // with the SDK's description of the failed call as the cause.
    // https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
    return new StatesError(
      `Lambda.${error.name}`,
      `${error.message} (Service: AWSLambda; Status Code: ${error.statusCode}; Error Code: ${error.name}; Request ID: ${randomUUID()}; Proxy: null)`,
      { cause: error },
    );
  }
  return new StatesError(
    "Lambda.SdkClientException",
    `Unable to execute HTTP request: ${(error as Error)?.message ?? String(error)}`,
    {
      cause: error,
    },
  );
}

function errorDetails(error: StatesError): Record<string, string> {
  const details: Record<string, string> = { error: error.name };
  if (error.causeText !== undefined) details.cause = error.causeText;
  return details;
}

function parsePayload(payload: Buffer): unknown {
  if (payload.length === 0) return null;
  const text = payload.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
