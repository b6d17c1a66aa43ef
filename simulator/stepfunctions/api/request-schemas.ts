/**
 * Request shapes of the Step Functions operations, checked where requests
 * enter. A failed check is a ValidationException worded as AWS words its
 * constraint errors: `1 validation error detected: Value at 'field' failed
 * to satisfy constraint: ...`.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html
 */
import { z } from "zod";
import { apiErrors, type SfnApiError } from "../errors.ts";

const arn = z.string().min(1).max(256);
const name = z.string().min(1).max(80);
const nextToken = z.string().min(1).max(1024).optional();
const maxResults = z.number().int().min(0).max(1000).optional();
const taskToken = z.string().min(1).max(2048);
const errorName = z.string().max(256).optional();
const cause = z.string().max(32768).optional();
const tags = z
  .array(z.object({ key: z.string().min(1).max(128), value: z.string().max(256) }))
  .optional();
const executionStatus = z.enum([
  "RUNNING",
  "SUCCEEDED",
  "FAILED",
  "TIMED_OUT",
  "ABORTED",
  "PENDING_REDRIVE",
]);

const startExecution = z.looseObject({
  stateMachineArn: arn,
  name: name.optional(),
  input: z.string().optional(),
  traceHeader: z.string().max(256).optional(),
});

/** Schema of each operation's request body. */
export const REQUEST_SCHEMAS: Record<string, z.ZodType<Record<string, unknown>>> = {
  CreateStateMachine: z.looseObject({
    name,
    definition: z.string().min(1),
    roleArn: arn,
    type: z.enum(["STANDARD", "EXPRESS"]).optional(),
    loggingConfiguration: z.record(z.string(), z.unknown()).optional(),
    tracingConfiguration: z.record(z.string(), z.unknown()).optional(),
    tags,
    publish: z.boolean().optional(),
    versionDescription: z.string().max(256).optional(),
  }),
  DescribeStateMachine: z.looseObject({ stateMachineArn: arn }),
  ValidateStateMachineDefinition: z.looseObject({
    definition: z.string().min(1),
    type: z.enum(["STANDARD", "EXPRESS"]).optional(),
    severity: z.enum(["ERROR", "WARNING"]).optional(),
    maxResults: z.number().int().min(0).max(100).optional(),
  }),
  UpdateStateMachine: z.looseObject({
    stateMachineArn: arn,
    definition: z.string().min(1).optional(),
    roleArn: arn.optional(),
    loggingConfiguration: z.record(z.string(), z.unknown()).optional(),
    tracingConfiguration: z.record(z.string(), z.unknown()).optional(),
  }),
  DeleteStateMachine: z.looseObject({ stateMachineArn: arn }),
  ListStateMachines: z.looseObject({ maxResults, nextToken }),
  StartExecution: startExecution,
  StartSyncExecution: startExecution,
  DescribeExecution: z.looseObject({ executionArn: arn }),
  DescribeStateMachineForExecution: z.looseObject({ executionArn: arn }),
  StopExecution: z.looseObject({ executionArn: arn, error: errorName, cause }),
  ListExecutions: z.looseObject({
    stateMachineArn: arn.optional(),
    mapRunArn: z.string().min(1).max(2000).optional(),
    statusFilter: executionStatus.optional(),
    redriveFilter: z.enum(["REDRIVEN", "NOT_REDRIVEN"]).optional(),
    maxResults,
    nextToken,
  }),
  GetExecutionHistory: z.looseObject({
    executionArn: arn,
    maxResults,
    nextToken,
    reverseOrder: z.boolean().optional(),
    includeExecutionData: z.boolean().optional(),
  }),
  ListMapRuns: z.looseObject({ executionArn: arn, maxResults, nextToken }),
  DescribeMapRun: z.looseObject({ mapRunArn: z.string().min(1).max(2000) }),
  RedriveExecution: z.looseObject({
    executionArn: arn,
    clientToken: z.string().min(1).max(256).optional(),
  }),
  SendTaskSuccess: z.looseObject({ taskToken, output: z.string() }),
  SendTaskFailure: z.looseObject({ taskToken, error: errorName, cause }),
  SendTaskHeartbeat: z.looseObject({ taskToken }),
  TestState: z.looseObject({
    definition: z.string().min(1),
    roleArn: arn.optional(),
    input: z.string().optional(),
    inspectionLevel: z.enum(["INFO", "DEBUG", "TRACE"]).optional(),
    revealSecrets: z.boolean().optional(),
    variables: z.string().optional(),
    stateName: z.string().optional(),
  }),
  TagResource: z.looseObject({
    resourceArn: arn,
    tags: z.array(z.object({ key: z.string().min(1), value: z.string() })),
  }),
  UntagResource: z.looseObject({ resourceArn: arn, tagKeys: z.array(z.string().min(1)) }),
  ListTagsForResource: z.looseObject({ resourceArn: arn }),
};

/** Checks `body` against the operation's schema; throws ValidationException listing the problems. */
export function parseRequest(
  operation: string,
  body: Record<string, unknown>,
): Record<string, unknown> {
  const schema = REQUEST_SCHEMAS[operation];
  if (!schema) return body;
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw validationError(result.error.issues);
}

function validationError(issues: z.core.$ZodIssue[]): SfnApiError {
  const details = issues.map((issue) => {
    const field = issue.path.join(".") || "request";
    return `Value at '${field}' failed to satisfy constraint: ${constraintText(issue)}`;
  });
  const count = details.length === 1 ? "1 validation error" : `${details.length} validation errors`;
  return apiErrors.validation(`${count} detected: ${details.join("; ")}`);
}

function constraintText(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && issue.input === undefined) return "Member must not be null";
  if (issue.code === "too_big")
    return `Member must have length less than or equal to ${issue.maximum}`;
  if (issue.code === "too_small")
    return `Member must have length greater than or equal to ${issue.minimum}`;
  if (issue.code === "invalid_value")
    return `Member must satisfy enum value set: [${issue.values.join(", ")}]`;
  return issue.message;
}
