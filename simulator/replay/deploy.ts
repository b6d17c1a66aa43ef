/**
 * Deploys the PDF pipeline into a running simulator through the real AWS SDK
 * clients: the functions (as hot-reload folders of this repository), their
 * concurrency and settings, the state machines and the bucket.
 */

import { readFileSync } from "node:fs";
import { Agent } from "node:http";
import path from "node:path";
import {
  CreateFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  LambdaClient,
  PutFunctionConcurrencyCommand,
  TagResourceCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CreateStateMachineCommand,
  ListStateMachinesCommand,
  SFNClient,
  UpdateStateMachineCommand,
} from "@aws-sdk/client-sfn";
import { REPOSITORY_ROOT } from "./document-mix.ts";
import {
  PIPELINE_FUNCTIONS,
  PIPELINE_STATE_MACHINES,
  type PipelineFunction,
  type Scenario,
} from "./scenario-schema.ts";

/** Region and account the simulator reports; the ASL files name functions in them. */
export const REGION = "us-east-1";
const ROLE_ARN = "arn:aws:iam::000000000000:role/warmstate-pipeline";
/** Maximum wait, in seconds, for a function's previous update to finish before the next one. */
const UPDATE_WAIT_SECONDS = 60;
/** Bucket that receives the input documents and every intermediate object. */
export const PIPELINE_BUCKET = "warmstate-pdf-pipeline";

/** Settings of one function as deployed. */
export interface DeployedFunctionSettings {
  memorySize: number;
  ephemeralStorageSize: number;
  timeout: number;
  reservedConcurrency?: number;
  keepAliveSeconds?: number;
  maxLifetimeSeconds?: number;
  environment: Record<string, string>;
}

/** Function settings and bucket that {@link deployPipeline} deploys. */
export interface DeploySettings {
  functions: Record<PipelineFunction, DeployedFunctionSettings>;
  bucket: string;
}

/** Names and ARNs of the deployed pipeline, for the driver. */
export interface DeployedPipeline {
  bucket: string;
  stateMachineArns: Record<string, string>;
  functions: PipelineFunction[];
}

/**
 * Defaults per function: pdf-split and pdf-analyze hold whole pages in memory,
 * so they get 1,024 MB; the timeouts leave room for 1,000-page documents.
 */
const FUNCTION_DEFAULTS: Record<PipelineFunction, Omit<DeployedFunctionSettings, "environment">> = {
  "pdf-split": { memorySize: 1_024, ephemeralStorageSize: 512, timeout: 300 },
  "pdf-analyze": { memorySize: 1_024, ephemeralStorageSize: 512, timeout: 60 },
  "pdf-summarize": { memorySize: 256, ephemeralStorageSize: 512, timeout: 120 },
};

/**
 * Environment variables of every pipeline function. @aws-sdk/core 3.981
 * emits a NodeVersionSupportWarning (its releases after the first week of
 * January 2027 need Node.js 22) when a client is created on Node.js below 22,
 * unless AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED is "true" (source:
 * node_modules/@aws-sdk/core/dist-es/submodules/client/emitWarningIfUnsupportedVersion.js).
 * The functions run on nodejs20.x, so without it every cold start writes the
 * warning through console.error, which the function log shows as an ERROR line.
 * A scenario's `functions.<name>.environment` can set it back to "false".
 */
const COMMON_FUNCTION_ENVIRONMENT: Record<string, string> = {
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
};

/** The StartExecution input of every pipeline state machine. */
export interface PipelineInput {
  /** Bucket that contains the documents. The pipeline writes its outputs there too. */
  bucket: string;
  /** PDFs to process, uploaded to the bucket beforehand. */
  documents: { key: string }[];
}

/** Builds the StartExecution input that processes the PDFs at `keys` in `bucket`. */
export function pipelineInput(bucket: string, keys: string[]): PipelineInput {
  return { bucket, documents: keys.map((key) => ({ key })) };
}

/** Turns a scenario's function settings and toggles into deploy settings. */
export function deploySettingsFor(scenario?: Scenario): DeploySettings {
  const toggles = scenario?.toggles ?? { CLEAN_TMP: false, CLOSE_FDS: false, SELF_RECYCLE: false };
  const toggleVariables: Record<PipelineFunction, Record<string, string>> = {
    "pdf-split": { CLEAN_TMP: String(toggles.CLEAN_TMP) },
    "pdf-analyze": {
      CLOSE_FDS: String(toggles.CLOSE_FDS),
      SELF_RECYCLE: String(toggles.SELF_RECYCLE),
    },
    "pdf-summarize": {},
  };

  const functions = {} as Record<PipelineFunction, DeployedFunctionSettings>;
  for (const name of PIPELINE_FUNCTIONS) {
    const given = scenario?.functions[name];
    functions[name] = {
      ...FUNCTION_DEFAULTS[name],
      ...(given?.memorySize !== undefined && { memorySize: given.memorySize }),
      ...(given?.ephemeralStorageSize !== undefined && {
        ephemeralStorageSize: given.ephemeralStorageSize,
      }),
      ...(given?.timeout !== undefined && { timeout: given.timeout }),
      reservedConcurrency: given?.reservedConcurrency,
      keepAliveSeconds:
        given?.keepAlive === undefined ? undefined : Math.round(given.keepAlive / 1_000),
      maxLifetimeSeconds:
        given?.maxLifetime === undefined ? undefined : Math.round(given.maxLifetime / 1_000),
      environment: {
        ...COMMON_FUNCTION_ENVIRONMENT,
        ...toggleVariables[name],
        ...(given?.environment ?? {}),
      },
    };
  }
  return { functions, bucket: PIPELINE_BUCKET };
}

/** SDK client settings for a simulator endpoint; the simulator accepts any credentials. */
export function clientConfig(endpoint: string) {
  return {
    endpoint,
    region: REGION,
    credentials: { accessKeyId: "warmstate", secretAccessKey: "warmstate" },
    // The replay keeps many requests in flight; the SDK's default pool is 50 sockets.
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }) },
    maxAttempts: 1,
  };
}

function settingTags(settings: DeployedFunctionSettings): Record<string, string> {
  const tags: Record<string, string> = {};
  if (settings.keepAliveSeconds !== undefined)
    tags["warmstate:keep-alive-seconds"] = String(settings.keepAliveSeconds);
  if (settings.maxLifetimeSeconds !== undefined)
    tags["warmstate:max-lifetime-seconds"] = String(settings.maxLifetimeSeconds);
  return tags;
}

/** Deploys (or updates) the functions, the state machines and the bucket. */
export async function deployPipeline(options: {
  endpoint: string;
  settings: DeploySettings;
}): Promise<DeployedPipeline> {
  const config = clientConfig(options.endpoint);
  const lambda = new LambdaClient(config);
  const sfn = new SFNClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  try {
    for (const name of PIPELINE_FUNCTIONS)
      await deployFunction(lambda, name, options.settings.functions[name]);
    await s3
      .send(new CreateBucketCommand({ Bucket: options.settings.bucket }))
      .catch((error: Error) => {
        if (error.name !== "BucketAlreadyOwnedByYou" && error.name !== "BucketAlreadyExists")
          throw error;
      });

    const stateMachineArns: Record<string, string> = {};
    for (const name of PIPELINE_STATE_MACHINES)
      stateMachineArns[name] = await deployStateMachine(sfn, name);
    return {
      bucket: options.settings.bucket,
      stateMachineArns,
      functions: [...PIPELINE_FUNCTIONS],
    };
  } finally {
    lambda.destroy();
    sfn.destroy();
    s3.destroy();
  }
}

async function deployFunction(
  lambda: LambdaClient,
  name: PipelineFunction,
  settings: DeployedFunctionSettings,
): Promise<void> {
  const codeDir = path.join(REPOSITORY_ROOT, "functions", name);
  const configuration = {
    FunctionName: name,
    Runtime: "nodejs20.x" as const,
    Handler: "index.handler",
    Role: ROLE_ARN,
    MemorySize: settings.memorySize,
    Timeout: settings.timeout,
    EphemeralStorage: { Size: settings.ephemeralStorageSize },
    Environment: { Variables: settings.environment },
  };
  const tags = settingTags(settings);

  try {
    await lambda.send(
      new CreateFunctionCommand({
        ...configuration,
        Code: { S3Bucket: "hot-reload", S3Key: codeDir },
        Tags: tags,
      }),
    );
  } catch (error) {
    if ((error as Error).name !== "ResourceConflictException") throw error;
    // Lambda applies an update asynchronously and rejects the next update with
    // ResourceConflictException while LastUpdateStatus is InProgress, so wait before each.
    // https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
    const waiter = { client: lambda, maxWaitTime: UPDATE_WAIT_SECONDS, minDelay: 1 };
    await waitUntilFunctionUpdatedV2(waiter, { FunctionName: name });
    await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: name, S3Bucket: "hot-reload", S3Key: codeDir }),
    );
    await waitUntilFunctionUpdatedV2(waiter, { FunctionName: name });
    await lambda.send(new UpdateFunctionConfigurationCommand(configuration));
    const arn = `arn:aws:lambda:${REGION}:000000000000:function:${name}`;
    if (Object.keys(tags).length > 0)
      await lambda.send(new TagResourceCommand({ Resource: arn, Tags: tags }));
  }

  if (settings.reservedConcurrency === undefined) {
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: name })).catch(() => {});
  } else {
    await lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: name,
        ReservedConcurrentExecutions: settings.reservedConcurrency,
      }),
    );
  }
}

async function deployStateMachine(sfn: SFNClient, name: string): Promise<string> {
  const definition = readFileSync(
    path.join(REPOSITORY_ROOT, "pipelines", `${name}.asl.json`),
    "utf8",
  );
  try {
    const created = await sfn.send(
      new CreateStateMachineCommand({ name, definition, roleArn: ROLE_ARN, type: "STANDARD" }),
    );
    return created.stateMachineArn as string;
  } catch (error) {
    if ((error as Error).name !== "StateMachineAlreadyExists") throw error;
    const listed = await sfn.send(new ListStateMachinesCommand({}));
    const arn = listed.stateMachines?.find((machine) => machine.name === name)?.stateMachineArn;
    if (!arn)
      throw new Error(
        `State machine ${name} exists but ListStateMachines does not list it; delete it and deploy again.`,
      );
    await sfn.send(
      new UpdateStateMachineCommand({ stateMachineArn: arn, definition, roleArn: ROLE_ARN }),
    );
    return arn;
  }
}
