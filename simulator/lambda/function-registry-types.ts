import type { FunctionConfig } from "./function-config.ts";

/** A function version resolved for one invocation. */
export interface ResolvedFunction {
  config: FunctionConfig;
  /** `$LATEST` or a published version number. */
  version: string;
  /** Unqualified ARN, `arn:aws:lambda:REGION:ACCOUNT:function:NAME`. */
  functionArn: string;
  /** The ARN the caller used, qualified when a qualifier was given. */
  invokedFunctionArn: string;
  /**
   * Hash of the code and configuration. Environments serve one configuration
   * id; a new id recycles every environment of the old one.
   */
  configurationId: string;
}

/** Events of the registry the pool listens to. */
export interface FunctionRegistryEvents {
  /** Code or configuration of `$LATEST` (or a version) changed. */
  "configuration-changed": [functionName: string];
  "function-deleted": [functionName: string];
  /** Reserved concurrency set or removed. */
  "concurrency-changed": [functionName: string];
}

/**
 * Function registry operations that the invoke path uses. The registry
 * accepts a name, a partial ARN or a full ARN wherever a function name goes.
 */
export interface FunctionResolver {
  /** Throws ResourceNotFoundException naming the function and qualifier. */
  resolve(functionName: string, qualifier?: string): ResolvedFunction;
  /** Reserved concurrency of a function, or undefined when unreserved. */
  reservedConcurrency(functionName: string): number | undefined;
  on<E extends keyof FunctionRegistryEvents>(
    event: E,
    listener: (...args: FunctionRegistryEvents[E]) => void,
  ): unknown;
}
