/**
 * Errors of the Lambda service, each named as AWS names it. Errors that reach
 * the wire carry the HTTP status AWS uses for them.
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors
 */
export class LambdaError extends Error {
  readonly statusCode: number;
  /** Extra fields AWS adds to the JSON error body (for example `Reason`). */
  readonly fields: Record<string, unknown>;

  constructor(
    name: string,
    statusCode: number,
    message: string,
    options: { cause?: unknown; fields?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = name;
    this.statusCode = statusCode;
    this.fields = options.fields ?? {};
  }

  /** Returns the JSON body AWS sends with this error. */
  toBody(): Record<string, unknown> {
    return {
      Type: this.statusCode < 500 ? "User" : "Service",
      message: this.message,
      ...this.fields,
    };
  }
}

export class ResourceNotFoundException extends LambdaError {
  constructor(message: string) {
    super("ResourceNotFoundException", 404, message);
  }
}

export class ResourceConflictException extends LambdaError {
  constructor(message: string) {
    super("ResourceConflictException", 409, message);
  }
}

export class InvalidParameterValueException extends LambdaError {
  constructor(message: string) {
    super("InvalidParameterValueException", 400, message);
  }
}

export class InvalidRequestContentException extends LambdaError {
  constructor(message: string) {
    super("InvalidRequestContentException", 400, message);
  }
}

export class RequestTooLargeException extends LambdaError {
  constructor(message: string) {
    super("RequestTooLargeException", 413, message);
  }
}

/** Reason of a throttle, as AWS reports it in `Reason`. */
export type ThrottleReason =
  | "ReservedFunctionConcurrentInvocationLimitExceeded"
  | "ConcurrentInvocationLimitExceeded"
  | "FunctionInvocationRateLimitExceeded";

/**
 * Throttle. AWS sends `{"Reason": ..., "Type": "User", "message": "Rate Exceeded."}`
 * with status 429, and a `retryAfterSeconds` field when a retry time is known.
 */
export class TooManyRequestsException extends LambdaError {
  readonly reason: ThrottleReason;

  constructor(reason: ThrottleReason, retryAfterSeconds?: number) {
    const fields: Record<string, unknown> = { Reason: reason };
    if (retryAfterSeconds !== undefined) fields.retryAfterSeconds = String(retryAfterSeconds);
    super("TooManyRequestsException", 429, "Rate Exceeded.", { fields });
    this.reason = reason;
  }
}

export class ServiceException extends LambdaError {
  constructor(message: string, cause?: unknown) {
    super("ServiceException", 500, message, { cause });
  }
}
