import { InvalidParameterValueException } from "../errors.ts";

/** A function reference split into its parts. */
export interface FunctionReference {
  functionName: string;
  /** Qualifier carried by a qualified ARN or `name:qualifier`, if any. */
  qualifier?: string;
  region?: string;
  accountId?: string;
}

// Lambda accepts a name, a partial ARN (`ACCOUNT:function:NAME`) or a full ARN,
// each optionally followed by `:QUALIFIER`.
// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_RequestSyntax
const FUNCTION_REFERENCE =
  /^(?:arn:aws[a-zA-Z-]*:lambda:([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):(\d{12}):function:|(\d{12}):function:)?([a-zA-Z0-9_-]{1,64})(?::(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$/;

/**
 * Splits a function name, partial ARN or ARN. Throws
 * InvalidParameterValueException when it matches none of Lambda's formats.
 */
export function parseFunctionReference(reference: string): FunctionReference {
  const match = FUNCTION_REFERENCE.exec(reference);
  if (!match) {
    throw new InvalidParameterValueException(
      `Invalid value for FunctionName: ${JSON.stringify(reference)} is not a function name, partial ARN or ARN. Use a name of 1 to 64 letters, digits, hyphens or underscores, or the function's ARN.`,
    );
  }
  return {
    region: match[1],
    accountId: match[2] ?? match[3],
    functionName: match[4],
    qualifier: match[5],
  };
}

/**
 * Combines the qualifier of a reference with the Qualifier parameter. Lambda
 * rejects the two when they disagree.
 */
export function combineQualifier(
  fromReference: string | undefined,
  parameter: string | undefined,
): string | undefined {
  if (fromReference && parameter && fromReference !== parameter) {
    throw new InvalidParameterValueException(
      `The derived qualifier from the function name (${fromReference}) does not match the specified qualifier (${parameter}).`,
    );
  }
  return parameter ?? fromReference;
}

/** Lambda's timestamp format for LastModified: `2024-01-31T12:00:00.000+0000`. */
export function formatLastModified(epochMs: number): string {
  return new Date(epochMs).toISOString().replace("Z", "+0000");
}
