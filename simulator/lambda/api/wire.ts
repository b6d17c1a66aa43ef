import type { FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import {
  InvalidParameterValueException,
  InvalidRequestContentException,
  LambdaError,
} from "../errors.ts";
import { receivedValue } from "../function-config.ts";
import { allowedValueMessage, isMissing } from "../issue-messages.ts";

/**
 * Payload too large for Invoke. AWS's API reference names this error
 * RequestTooLargeException, but the service sends RequestEntityTooLargeException
 * on the wire (status 413), and that is the name SDKs and the CLI print.
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors
 */
export class RequestEntityTooLargeException extends LambdaError {
  constructor(message: string) {
    super("RequestEntityTooLargeException", 413, message);
  }
}

/** Error for a path or method that Lambda's API does not serve. */
export class UnknownOperationException extends LambdaError {
  constructor(method: string, url: string) {
    super("UnknownOperationException", 404, `No Lambda operation matches ${method} ${url}.`);
  }
}

/**
 * Sends an error as Lambda does: the status, an `x-amzn-ErrorType` header that
 * SDKs read to pick the exception class, and a JSON body with `Type` and
 * `message`. Throttles add `Retry-After` when a wait is known.
 */
export function sendLambdaError(reply: FastifyReply, error: LambdaError): FastifyReply {
  reply
    .status(error.statusCode)
    .header("x-amzn-ErrorType", error.name)
    .header("content-type", "application/json");
  const retryAfter = error.fields.retryAfterSeconds;
  if (retryAfter !== undefined) reply.header("Retry-After", String(retryAfter));
  return reply.send(JSON.stringify(error.toBody()));
}

/**
 * Parses a JSON request body and validates it. Malformed JSON gives
 * InvalidRequestContentException; a schema mismatch gives
 * InvalidParameterValueException naming the field.
 */
export function parseJsonBody<Schema extends z.ZodType>(
  request: FastifyRequest,
  schema: Schema,
): z.infer<Schema> {
  const raw = request.body;
  let value: unknown = {};
  if (Buffer.isBuffer(raw) && raw.length > 0) {
    try {
      value = JSON.parse(raw.toString("utf8"));
    } catch (error) {
      throw new InvalidRequestContentException(
        `Could not parse request body into json: ${(error as Error).message}. Send a JSON object.`,
      );
    }
  }
  return validate(schema, value);
}

/**
 * Validates a value, naming the first invalid field, the value received and
 * what the field allows in Lambda's error.
 */
export function validate<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  prefix = "",
): z.infer<Schema> {
  const result = schema.safeParse(value, { error: allowedValueMessage });
  if (result.success) return result.data;

  const issue = result.error.issues[0];
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join(".") || "request body";
  if (issue.path.length > 0 && isMissing(value, issue.path)) {
    throw new InvalidParameterValueException(`Missing value for ${field}: ${issue.message}.`);
  }
  throw new InvalidParameterValueException(
    `Invalid value for ${field}${receivedValue(value, issue.path)}: ${issue.message}.`,
  );
}

/** Reads a query string parameter, treating an empty value as absent. */
export function queryParameter(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, string | string[] | undefined>)[name];
  const single = Array.isArray(value) ? value[0] : value;
  return single === undefined || single === "" ? undefined : single;
}

/**
 * Cuts one page out of a list for the List* operations: `MaxItems` (1 to
 * 10,000, default `pageSize`) items after the opaque `Marker` this function
 * returned as `nextMarker` for the previous page.
 */
export function paginate<T>(
  request: FastifyRequest,
  items: T[],
  pageSize: number,
): { page: T[]; nextMarker?: string } {
  const rawMaxItems = queryParameter(request, "MaxItems");
  const maxItems = Number(rawMaxItems ?? pageSize);
  if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 10_000) {
    throw new InvalidParameterValueException(
      `Invalid value for MaxItems: ${rawMaxItems} must be an integer from 1 to 10000.`,
    );
  }

  const marker = queryParameter(request, "Marker");
  const start = marker ? Number(Buffer.from(marker, "base64url").toString()) : 0;
  if (!Number.isInteger(start) || start < 0) {
    throw new InvalidParameterValueException(
      `Invalid value for Marker: ${marker} is not a marker this API returned.`,
    );
  }

  const end = start + maxItems;
  return {
    page: items.slice(start, end),
    nextMarker: end < items.length ? Buffer.from(String(end)).toString("base64url") : undefined,
  };
}
