import { z } from "zod";
import { ALLOWED_VALUES, HANDLER_REQUIRED } from "../function-config.ts";

/**
 * Request bodies of Lambda's control API, with AWS's field names. Unknown
 * fields (VpcConfig, Layers, TracingConfig...) are accepted and ignored, so
 * deployment tools that send them keep working.
 * https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
 */

const codeSchema = z.looseObject({
  ZipFile: z.string().optional(),
  S3Bucket: z.string().optional(),
  S3Key: z.string().optional(),
  S3ObjectVersion: z.string().optional(),
  ImageUri: z.string().optional(),
});

const environmentSchema = z.looseObject({ Variables: z.record(z.string(), z.string()).optional() });

// A number that function-config.ts checks further; a value of another type
// gets the same message as one out of range.
const numberIn = (allowed: string) => z.number({ error: allowed });

// Only Zip functions are supported, and they need a handler.
const zipHandler = z.string({
  error: (issue) => (issue.input === undefined ? HANDLER_REQUIRED : undefined),
});

export const createFunctionSchema = z.looseObject({
  FunctionName: z.string().min(1),
  Runtime: z.string().min(1),
  Role: z.string().optional(),
  Handler: zipHandler.min(1),
  Code: codeSchema,
  Description: z.string().optional(),
  Timeout: numberIn(ALLOWED_VALUES.timeout).optional(),
  MemorySize: numberIn(ALLOWED_VALUES.memorySize).optional(),
  Publish: z.boolean().optional(),
  PackageType: z.enum(["Zip", "Image"]).optional(),
  Environment: environmentSchema.optional(),
  EphemeralStorage: z
    .looseObject({ Size: numberIn(ALLOWED_VALUES.ephemeralStorageSize) })
    .optional(),
  Architectures: z
    .array(z.enum(["x86_64", "arm64"]))
    .length(1)
    .optional(),
  Tags: z.record(z.string(), z.string()).optional(),
});

export const updateConfigurationSchema = z.looseObject({
  Runtime: z.string().min(1).optional(),
  Role: z.string().optional(),
  Handler: z.string().min(1).optional(),
  Description: z.string().optional(),
  Timeout: numberIn(ALLOWED_VALUES.timeout).optional(),
  MemorySize: numberIn(ALLOWED_VALUES.memorySize).optional(),
  Environment: environmentSchema.optional(),
  EphemeralStorage: z
    .looseObject({ Size: numberIn(ALLOWED_VALUES.ephemeralStorageSize) })
    .optional(),
  RevisionId: z.string().optional(),
});

export const updateCodeSchema = z.looseObject({
  ZipFile: z.string().optional(),
  S3Bucket: z.string().optional(),
  S3Key: z.string().optional(),
  S3ObjectVersion: z.string().optional(),
  ImageUri: z.string().optional(),
  Publish: z.boolean().optional(),
  DryRun: z.boolean().optional(),
  RevisionId: z.string().optional(),
  Architectures: z
    .array(z.enum(["x86_64", "arm64"]))
    .length(1)
    .optional(),
});

export const publishVersionSchema = z.looseObject({
  CodeSha256: z.string().optional(),
  Description: z.string().max(256).optional(),
  RevisionId: z.string().optional(),
});

const aliasName = z
  .string()
  .regex(
    /^(?!^[0-9]+$)([a-zA-Z0-9-_]+)$/,
    "must be 1 to 128 letters, digits, hyphens or underscores and not only digits",
  )
  .max(128);
const functionVersion = z
  .string()
  .regex(/^(\$LATEST|[0-9]+)$/, "must be $LATEST or a version number");
const routingConfig = z.looseObject({
  AdditionalVersionWeights: z.record(z.string(), z.number()).optional(),
});

export const createAliasSchema = z.looseObject({
  Name: aliasName,
  FunctionVersion: functionVersion,
  Description: z.string().max(256).optional(),
  RoutingConfig: routingConfig.optional(),
});

export const updateAliasSchema = z.looseObject({
  FunctionVersion: functionVersion.optional(),
  Description: z.string().max(256).optional(),
  RoutingConfig: routingConfig.optional(),
  RevisionId: z.string().optional(),
});

export const putConcurrencySchema = z.looseObject({
  ReservedConcurrentExecutions: z.number().int().min(0),
});

// Destinations are ARNs on Lambda; `file:NAME` is the simulator's own
// destination, a JSON-lines file under the data folder.
const destination = z
  .string()
  .regex(
    /^(arn:aws[a-zA-Z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+|file:[A-Za-z0-9._-]{1,128})$/,
    "must be an ARN or file:NAME (letters, digits, dots, hyphens, underscores)",
  );

// MaximumRetryAttempts 0-2 and MaximumEventAgeInSeconds 60-21,600.
// https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html
export const eventInvokeConfigSchema = z.looseObject({
  MaximumRetryAttempts: z.number().int().min(0).max(2).optional(),
  MaximumEventAgeInSeconds: z.number().int().min(60).max(21_600).optional(),
  DestinationConfig: z
    .looseObject({
      OnSuccess: z.looseObject({ Destination: destination.optional() }).optional(),
      OnFailure: z.looseObject({ Destination: destination.optional() }).optional(),
    })
    .optional(),
});

export const tagResourceSchema = z.looseObject({ Tags: z.record(z.string(), z.string()) });
