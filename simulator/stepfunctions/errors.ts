/**
 * Errors of the Step Functions simulator. Two families:
 * - `StatesError`: an error inside an execution (`States.Runtime`, a Lambda
 *   error, a Fail state), matched by Retry and Catch.
 * - `SfnApiError`: an error of the API, sent as an AWS JSON 1.0 body
 *   `{"__type": name, "message": text}` with its HTTP status.
 *   https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html
 */

/** An error raised while an execution runs; `name` is the ASL error name. */
export class StatesError extends Error {
  /** The `Cause` text that Catch and the history show; a Fail state may omit it. */
  causeText: string | undefined;
  /** Set once the cause carries the "An error occurred while executing the state" prefix. */
  located = false;

  constructor(name: string, causeText?: string, options: { cause?: unknown } = {}) {
    super(causeText ?? name, { cause: options.cause });
    this.name = name;
    this.causeText = causeText;
  }
}

/** Raised inside a branch, iteration or task that was cancelled; never caught. */
export class AbortedError extends Error {
  constructor() {
    super("The execution or its enclosing state was stopped");
    this.name = "AbortedError";
  }
}

/** An error of the Step Functions API. */
export class SfnApiError extends Error {
  readonly statusCode: number;

  constructor(name: string, message: string, statusCode = 400) {
    super(message);
    this.name = name;
    this.statusCode = statusCode;
  }

  /** Builds the AWS JSON 1.0 error body. */
  toBody(): Record<string, string> {
    return { __type: this.name, message: this.message };
  }
}

/** Shorthands for the API errors, named as the API reference names them. */
export const apiErrors = {
  invalidArn: (arn: string) => new SfnApiError("InvalidArn", `Invalid Arn: '${arn}'`),
  invalidName: (name: string) => new SfnApiError("InvalidName", `Invalid Name: '${name}'`),
  invalidDefinition: (message: string) => new SfnApiError("InvalidDefinition", message),
  invalidExecutionInput: (message: string) => new SfnApiError("InvalidExecutionInput", message),
  invalidOutput: (message: string) => new SfnApiError("InvalidOutput", message),
  invalidToken: (message: string) => new SfnApiError("InvalidToken", message),
  validation: (message: string) => new SfnApiError("ValidationException", message),
  stateMachineDoesNotExist: (arn: string) =>
    new SfnApiError("StateMachineDoesNotExist", `State Machine Does Not Exist: '${arn}'`),
  stateMachineAlreadyExists: (arn: string) =>
    new SfnApiError("StateMachineAlreadyExists", `State Machine Already Exists: '${arn}'`),
  stateMachineTypeNotSupported: (message: string) =>
    new SfnApiError("StateMachineTypeNotSupported", message),
  executionDoesNotExist: (arn: string) =>
    new SfnApiError("ExecutionDoesNotExist", `Execution Does Not Exist: '${arn}'`),
  executionAlreadyExists: (arn: string) =>
    new SfnApiError("ExecutionAlreadyExists", `Execution Already Exists: '${arn}'`),
  executionNotRedrivable: (message: string) => new SfnApiError("ExecutionNotRedrivable", message),
  resourceNotFound: (arn: string) =>
    new SfnApiError("ResourceNotFound", `Resource Not Found: '${arn}'`),
  taskDoesNotExist: () => new SfnApiError("TaskDoesNotExist", "Task Does Not Exist"),
  taskTimedOut: () => new SfnApiError("TaskTimedOut", "Task Timed Out"),
  unknownOperation: (operation: string, supported: string[]) =>
    new SfnApiError(
      "UnknownOperationException",
      `The Step Functions operation '${operation}' is not supported by Warmstate. Supported operations: ${supported.join(", ")}. See docs/stepfunctions.md.`,
    ),
  missingTarget: (target: string) =>
    new SfnApiError(
      "UnknownOperationException",
      `The request names no Step Functions operation: the X-Amz-Target header is '${target}', expected 'AWSStepFunctions.<Operation>' as the AWS SDK and CLI send it.`,
    ),
  serialization: (message: string) => new SfnApiError("SerializationException", message),
};
