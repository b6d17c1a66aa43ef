import type {
  EventInvokeConfig,
  FunctionAlias,
  FunctionRegistry,
  FunctionVersion,
} from "../function-registry.ts";
import { formatLastModified } from "./function-name.ts";

/**
 * Builds Lambda's FunctionConfiguration object for one version.
 * https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html
 */
export function functionConfiguration(
  registry: FunctionRegistry,
  version: FunctionVersion,
  options: { qualifyLatest?: boolean } = {},
): Record<string, unknown> {
  const config = version.config;
  const unqualified = registry.functionArn(config.functionName);
  const qualified = version.version !== "$LATEST" || options.qualifyLatest;

  const shape: Record<string, unknown> = {
    FunctionName: config.functionName,
    FunctionArn: qualified ? `${unqualified}:${version.version}` : unqualified,
    Runtime: config.runtime,
    Role: version.role,
    Handler: config.handler,
    CodeSize: version.codeSize,
    Description: config.description,
    Timeout: config.timeout,
    MemorySize: config.memorySize,
    LastModified: formatLastModified(version.lastModified),
    CodeSha256: version.codeSha256,
    Version: version.version,
    TracingConfig: { Mode: "PassThrough" },
    RevisionId: version.revisionId,
    State: version.state,
    StateReason: version.stateReason,
    StateReasonCode: version.stateReasonCode,
    LastUpdateStatus: version.lastUpdateStatus,
    LastUpdateStatusReason: version.lastUpdateStatusReason,
    LastUpdateStatusReasonCode: version.lastUpdateStatusReasonCode,
    PackageType: "Zip",
    Architectures: version.architectures,
    EphemeralStorage: { Size: config.ephemeralStorageSize },
    SnapStart: { ApplyOn: "None", OptimizationStatus: "Off" },
    LoggingConfig: { LogFormat: "Text", LogGroup: `/aws/lambda/${config.functionName}` },
  };
  if (Object.keys(config.environment).length > 0)
    shape.Environment = { Variables: config.environment };
  return dropUndefined(shape);
}

/** Builds Lambda's AliasConfiguration object. */
export function aliasConfiguration(
  registry: FunctionRegistry,
  functionName: string,
  alias: FunctionAlias,
): Record<string, unknown> {
  return dropUndefined({
    AliasArn: `${registry.functionArn(functionName)}:${alias.name}`,
    Name: alias.name,
    FunctionVersion: alias.functionVersion,
    Description: alias.description,
    RoutingConfig: alias.additionalVersionWeights
      ? { AdditionalVersionWeights: alias.additionalVersionWeights }
      : undefined,
    RevisionId: alias.revisionId,
  });
}

/** Builds the FunctionEventInvokeConfig object, whose LastModified is epoch seconds on the wire. */
export function eventInvokeConfiguration(
  registry: FunctionRegistry,
  functionName: string,
  qualifier: string,
  config: EventInvokeConfig,
): Record<string, unknown> {
  return dropUndefined({
    LastModified: config.lastModified / 1000,
    FunctionArn: `${registry.functionArn(functionName)}:${qualifier}`,
    MaximumRetryAttempts: config.maximumRetryAttempts,
    MaximumEventAgeInSeconds: config.maximumEventAgeInSeconds,
    DestinationConfig: config.destinationConfig ?? { OnSuccess: {}, OnFailure: {} },
  });
}

function dropUndefined(shape: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(shape)) if (shape[key] === undefined) delete shape[key];
  return shape;
}
