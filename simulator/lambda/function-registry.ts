import { createHash, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  existsSync,
  type FSWatcher,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { Clock, ClockTimer } from "../clock.ts";
import {
  fingerprintDirectory,
  type StoredCode,
  storeZip,
  writePackageBoundary,
} from "./api/code-store.ts";
import {
  combineQualifier,
  formatLastModified,
  parseFunctionReference,
} from "./api/function-name.ts";
import {
  assertHotReloadFolderReadable,
  assertUnpackFolderReadable,
  findModuleTypeConflict,
  type SandboxCodeAccess,
} from "./code-folder-checks.ts";
import {
  InvalidParameterValueException,
  ResourceConflictException,
  ResourceNotFoundException,
} from "./errors.ts";
import {
  type FunctionConfig,
  functionConfigSchema,
  receivedValue,
  type SimulatorSettings,
  simulatorSettingsSchema,
} from "./function-config.ts";
import type {
  FunctionRegistryEvents,
  FunctionResolver,
  ResolvedFunction,
} from "./function-registry-types.ts";
import { allowedValueMessage, isMissing } from "./issue-messages.ts";

/**
 * Source of a function's code.
 *
 * - `zipFile`: a zip archive, unpacked once into `<dataDir>/functions/<name>/<sha>/`.
 * - `hotReloadDir`: an absolute local folder used in place and watched. A change
 *   of any file gives a new CodeSha256 and emits `configuration-changed`, so
 *   the next invocation cold-starts on the new code. Over the Lambda API this
 *   is `Code: { S3Bucket: "hot-reload", S3Key: "/abs/path" }`, the convention
 *   LocalStack uses for the same purpose.
 */
export type FunctionCode = { zipFile: Buffer } | { hotReloadDir: string };

/** The bucket name that marks hot-reload code in CreateFunction and UpdateFunctionCode. */
export const HOT_RELOAD_BUCKET = "hot-reload";

/** Key prefix of the tags that hold the simulator's own settings. */
const SETTING_TAG_PREFIX = "warmstate:";

/** Tags that set the simulator's own per-function settings. */
export const SETTING_TAGS = {
  keepAliveSeconds: "warmstate:keep-alive-seconds",
  maxLifetimeSeconds: "warmstate:max-lifetime-seconds",
  freeze: "warmstate:freeze",
} as const;

/** Lambda's function lifecycle: State and LastUpdateStatus. */
export type FunctionState = "Pending" | "Active" | "Inactive" | "Failed";
export type LastUpdateStatus = "InProgress" | "Successful" | "Failed";

/** One version of a function: `$LATEST` or a published, immutable snapshot. */
export interface FunctionVersion {
  version: string;
  config: FunctionConfig;
  role: string;
  architectures: string[];
  codeSha256: string;
  codeSize: number;
  hotReloadDir?: string;
  /** Epoch milliseconds of the last change, on the simulator clock. */
  lastModified: number;
  revisionId: string;
  state: FunctionState;
  stateReason?: string;
  stateReasonCode?: string;
  lastUpdateStatus?: LastUpdateStatus;
  lastUpdateStatusReason?: string;
  lastUpdateStatusReasonCode?: string;
  /** RevisionId of `$LATEST` this version was published from; PublishVersion is a no-op while it is unchanged. */
  publishedFromRevision?: string;
}

/** An alias: a name that points at one version, or splits traffic between two. */
export interface FunctionAlias {
  name: string;
  functionVersion: string;
  description: string;
  /** Extra version and the share of traffic (0 to 1) it gets. */
  additionalVersionWeights?: Record<string, number>;
  revisionId: string;
}

/** Destination of an asynchronous invocation: an ARN or, as a simulator extension, `file:NAME`. */
export interface DestinationConfig {
  OnSuccess?: { Destination?: string };
  OnFailure?: { Destination?: string };
}

/** Settings of asynchronous invocations for one qualifier (PutFunctionEventInvokeConfig). */
export interface EventInvokeConfig {
  maximumRetryAttempts?: number;
  maximumEventAgeInSeconds?: number;
  destinationConfig?: DestinationConfig;
  lastModified: number;
}

interface FunctionEntry {
  name: string;
  latest: FunctionVersion;
  versions: Map<string, FunctionVersion>;
  nextVersion: number;
  aliases: Map<string, FunctionAlias>;
  reservedConcurrency?: number;
  eventInvokeConfigs: Map<string, EventInvokeConfig>;
  tags: Record<string, string>;
}

/** Input of CreateFunction, already parsed from the wire. */
export interface CreateFunctionInput {
  functionName: string;
  runtime: string;
  handler: string;
  code: FunctionCode;
  role?: string;
  memorySize?: number;
  timeout?: number;
  ephemeralStorageSize?: number;
  environment?: Record<string, string>;
  description?: string;
  architectures?: string[];
  tags?: Record<string, string>;
  publish?: boolean;
}

/** Fields UpdateFunctionConfiguration may change; undefined leaves a field as it is. */
export type UpdateConfigurationInput = Partial<
  Pick<
    CreateFunctionInput,
    | "runtime"
    | "handler"
    | "role"
    | "memorySize"
    | "timeout"
    | "ephemeralStorageSize"
    | "environment"
    | "description"
  >
>;

/** Options of {@link FunctionRegistry}. */
export interface FunctionRegistryOptions {
  dataDir: string;
  clock: Clock;
  logger: Logger;
  region?: string;
  accountId?: string;
  /**
   * Simulator-clock milliseconds a function stays Pending after CreateFunction
   * and InProgress after an update, as Lambda's asynchronous updates do. 0
   * makes every change take effect as Active/Successful at once.
   */
  transitionMs?: number;
  /**
   * Sandbox access to code folders, which CreateFunction and
   * UpdateFunctionCode check to reject code the sandbox user cannot read.
   * The default, `same-user`, checks nothing.
   */
  codeAccess?: SandboxCodeAccess;
}

const AWS_FIELD_NAMES: Record<string, string> = {
  functionName: "FunctionName",
  runtime: "Runtime",
  handler: "Handler",
  memorySize: "MemorySize",
  timeout: "Timeout",
  ephemeralStorageSize: "EphemeralStorage.Size",
  environment: "Environment.Variables",
  description: "Description",
};

const HOT_RELOAD_DEBOUNCE_MS = 150;

/**
 * Functions, versions, aliases and their settings, persisted under
 * `<dataDir>/functions/`. Implements what the invoke path needs
 * (FunctionResolver) and the operations of Lambda's control API.
 */
export class FunctionRegistry
  extends EventEmitter<FunctionRegistryEvents>
  implements FunctionResolver
{
  readonly dataDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly region: string;
  readonly accountId: string;
  readonly transitionMs: number;
  readonly codeAccess: SandboxCodeAccess;
  #functions = new Map<string, FunctionEntry>();
  #timers = new Set<ClockTimer>();
  #watchers = new Map<string, { watcher: FSWatcher; debounce?: ClockTimer }>();
  #closed = false;

  constructor(options: FunctionRegistryOptions) {
    super();
    this.dataDir = options.dataDir;
    this.clock = options.clock;
    this.logger = options.logger.child({ component: "function-registry" });
    this.region = options.region ?? "us-east-1";
    this.accountId = options.accountId ?? "000000000000";
    this.transitionMs = options.transitionMs ?? 250;
    this.codeAccess = options.codeAccess ?? { kind: "same-user" };
    mkdirSync(this.#functionsRoot, { recursive: true });
    this.#load();
  }

  get #functionsRoot(): string {
    return path.join(this.dataDir, "functions");
  }

  get #stateFile(): string {
    return path.join(this.#functionsRoot, "registry.json");
  }

  /** Unqualified ARN of a function. */
  functionArn(functionName: string): string {
    return `arn:aws:lambda:${this.region}:${this.accountId}:function:${functionName}`;
  }

  /** Names of every function, sorted. */
  functionNames(): string[] {
    return [...this.#functions.keys()].sort();
  }

  // ---- FunctionResolver -------------------------------------------------

  resolve(functionName: string, qualifier?: string): ResolvedFunction {
    const reference = parseFunctionReference(functionName);
    const requested = combineQualifier(reference.qualifier, qualifier);
    const entry = this.#entry(reference.functionName, requested);
    const version = this.#versionFor(entry, requested, true);
    const functionArn = this.functionArn(entry.name);

    return {
      config: { ...version.config, reservedConcurrency: entry.reservedConcurrency },
      version: version.version,
      functionArn,
      invokedFunctionArn: requested ? `${functionArn}:${requested}` : functionArn,
      configurationId: configurationIdOf(version),
    };
  }

  reservedConcurrency(functionName: string): number | undefined {
    return this.#entry(parseFunctionReference(functionName).functionName).reservedConcurrency;
  }

  // ---- Functions --------------------------------------------------------

  /** CreateFunction. Throws ResourceConflictException when the name exists. */
  async createFunction(input: CreateFunctionInput): Promise<FunctionVersion> {
    if (this.#functions.has(input.functionName)) {
      throw new ResourceConflictException(`Function already exist: ${input.functionName}`);
    }
    const settings = parseSettingTags(input.tags ?? {});
    const draft = validateConfig({
      functionName: input.functionName,
      runtime: input.runtime,
      handler: input.handler,
      codeDir: "/pending",
      memorySize: input.memorySize,
      timeout: input.timeout,
      ephemeralStorageSize: input.ephemeralStorageSize,
      environment: input.environment,
      description: input.description,
      simulator: settings,
    });
    const code = await this.#storeCode(input.functionName, input.code);
    this.#warnOnModuleTypeConflict(draft, code);
    if (this.#functions.has(input.functionName)) {
      throw new ResourceConflictException(`Function already exist: ${input.functionName}`);
    }

    const latest: FunctionVersion = {
      version: "$LATEST",
      config: { ...draft, codeDir: code.codeDir },
      role: input.role ?? `arn:aws:iam::${this.accountId}:role/lambda-role`,
      architectures: input.architectures ?? ["x86_64"],
      codeSha256: code.codeSha256,
      codeSize: code.codeSize,
      hotReloadDir: code.hotReloadDir,
      lastModified: this.clock.now(),
      revisionId: randomUUID(),
      state: "Active",
    };
    const entry: FunctionEntry = {
      name: input.functionName,
      latest,
      versions: new Map(),
      nextVersion: 1,
      aliases: new Map(),
      eventInvokeConfigs: new Map(),
      tags: { ...(input.tags ?? {}) },
    };
    this.#functions.set(entry.name, entry);
    this.#beginTransition(entry, "create");
    if (code.hotReloadDir) this.#watch(entry);
    this.logger.info({ functionName: entry.name, codeSha256: code.codeSha256 }, "function created");

    if (input.publish) this.#publish(entry, latest.config.description);
    this.#save();
    return latest;
  }

  /** The version a qualifier names: `$LATEST` (default), a number or an alias (its primary version). */
  getFunction(functionName: string, qualifier?: string): FunctionVersion {
    const reference = parseFunctionReference(functionName);
    const requested = combineQualifier(reference.qualifier, qualifier);
    const entry = this.#entry(reference.functionName, requested);
    return this.#versionFor(entry, requested, false);
  }

  /** `$LATEST` of every function, sorted by name. */
  listFunctions(): FunctionVersion[] {
    return [...this.#functions.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((entry) => entry.latest);
  }

  /** Tags of a function. */
  tagsOf(functionName: string): Record<string, string> {
    return { ...this.#entry(parseFunctionReference(functionName).functionName).tags };
  }

  /** UpdateFunctionConfiguration on `$LATEST`. */
  updateFunctionConfiguration(
    functionName: string,
    patch: UpdateConfigurationInput,
    revisionId?: string,
  ): FunctionVersion {
    const entry = this.#entry(parseFunctionReference(functionName).functionName);
    const latest = entry.latest;
    this.#checkUpdatable(entry, revisionId);

    const config = validateConfig({
      ...latest.config,
      runtime: patch.runtime ?? latest.config.runtime,
      handler: patch.handler ?? latest.config.handler,
      memorySize: patch.memorySize ?? latest.config.memorySize,
      timeout: patch.timeout ?? latest.config.timeout,
      ephemeralStorageSize: patch.ephemeralStorageSize ?? latest.config.ephemeralStorageSize,
      environment: patch.environment ?? latest.config.environment,
      description: patch.description ?? latest.config.description,
      reservedConcurrency: undefined,
    });
    latest.config = config;
    if (patch.role) latest.role = patch.role;
    this.#touch(latest);
    this.#beginTransition(entry, "update");
    this.#save();

    this.logger.info({ functionName: entry.name }, "function configuration updated");
    this.emit("configuration-changed", entry.name);
    return latest;
  }

  /** UpdateFunctionCode on `$LATEST`, optionally publishing a version. */
  async updateFunctionCode(
    functionName: string,
    code: FunctionCode,
    options: { publish?: boolean; revisionId?: string; architectures?: string[] } = {},
  ): Promise<FunctionVersion> {
    const entry = this.#entry(parseFunctionReference(functionName).functionName);
    this.#checkUpdatable(entry, options.revisionId);
    const stored = await this.#storeCode(entry.name, code);
    this.#warnOnModuleTypeConflict(entry.latest.config, stored);
    this.#checkUpdatable(entry, options.revisionId);

    const latest = entry.latest;
    latest.config = { ...latest.config, codeDir: stored.codeDir };
    latest.codeSha256 = stored.codeSha256;
    latest.codeSize = stored.codeSize;
    latest.hotReloadDir = stored.hotReloadDir;
    if (options.architectures) latest.architectures = options.architectures;
    this.#touch(latest);
    this.#unwatch(entry.name);
    if (stored.hotReloadDir) this.#watch(entry);
    this.#beginTransition(entry, "update");

    if (options.publish) this.#publish(entry, latest.config.description);
    this.#save();
    this.logger.info(
      { functionName: entry.name, codeSha256: stored.codeSha256 },
      "function code updated",
    );
    this.emit("configuration-changed", entry.name);
    return latest;
  }

  /** DeleteFunction: the whole function, or one published version when a qualifier is given. */
  deleteFunction(functionName: string, qualifier?: string): void {
    const reference = parseFunctionReference(functionName);
    const requested = combineQualifier(reference.qualifier, qualifier);
    const entry = this.#entry(reference.functionName, requested);

    if (requested !== undefined && requested !== "$LATEST") {
      if (!entry.versions.has(requested)) {
        throw new ResourceNotFoundException(
          `Function not found: ${this.functionArn(entry.name)}:${requested}`,
        );
      }
      const aliasUsing = [...entry.aliases.values()].find(
        (alias) =>
          alias.functionVersion === requested ||
          alias.additionalVersionWeights?.[requested] !== undefined,
      );
      if (aliasUsing) {
        throw new ResourceConflictException(
          `Unable to delete version because the following aliases reference it: [${aliasUsing.name}]`,
        );
      }
      entry.versions.delete(requested);
      entry.eventInvokeConfigs.delete(requested);
      this.#save();
      this.emit("configuration-changed", entry.name);
      return;
    }
    if (requested === "$LATEST") {
      throw new InvalidParameterValueException(
        "$LATEST version cannot be deleted without deleting the function.",
      );
    }

    this.#unwatch(entry.name);
    this.#functions.delete(entry.name);
    this.#save();
    rmSync(path.join(this.#functionsRoot, entry.name), { recursive: true, force: true });
    this.logger.info({ functionName: entry.name }, "function deleted");
    this.emit("function-deleted", entry.name);
  }

  // ---- Versions ---------------------------------------------------------

  /**
   * PublishVersion. Returns the latest published version unchanged when
   * neither code nor configuration changed since it, as Lambda does.
   */
  publishVersion(
    functionName: string,
    options: { description?: string; codeSha256?: string; revisionId?: string },
  ): FunctionVersion {
    const entry = this.#entry(parseFunctionReference(functionName).functionName);
    const latest = entry.latest;
    if (options.revisionId && options.revisionId !== latest.revisionId) throw revisionConflict();
    if (options.codeSha256 && options.codeSha256 !== latest.codeSha256) {
      throw new InvalidParameterValueException(
        `CodeSha256 (${options.codeSha256}) is different from current CodeSha256 in $LATEST (${latest.codeSha256}). Please try again with the CodeSha256 in $LATEST.`,
      );
    }
    if (latest.lastUpdateStatus === "InProgress" || latest.state === "Pending")
      throw updateInProgress(this.functionArn(entry.name));

    return this.#publish(entry, options.description ?? latest.config.description);
  }

  /**
   * Snapshots `$LATEST` as the next version, or returns the newest version
   * when nothing changed since it, as Lambda does.
   */
  #publish(entry: FunctionEntry, description: string): FunctionVersion {
    const latest = entry.latest;
    const previous = entry.versions.get(String(entry.nextVersion - 1));
    if (previous && previous.publishedFromRevision === latest.revisionId) return previous;

    const version: FunctionVersion = {
      ...structuredClone(latest),
      version: String(entry.nextVersion),
      config: { ...structuredClone(latest.config), description },
      lastModified: this.clock.now(),
      revisionId: randomUUID(),
      state: "Active",
      stateReason: undefined,
      stateReasonCode: undefined,
      lastUpdateStatus: "Successful",
      lastUpdateStatusReason: undefined,
      lastUpdateStatusReasonCode: undefined,
      publishedFromRevision: latest.revisionId,
    };
    entry.versions.set(version.version, version);
    entry.nextVersion += 1;
    this.#save();
    this.logger.info({ functionName: entry.name, version: version.version }, "version published");
    return version;
  }

  /** ListVersionsByFunction: `$LATEST` first, then published versions in order. */
  listVersions(functionName: string): FunctionVersion[] {
    const entry = this.#entry(parseFunctionReference(functionName).functionName);
    return [
      entry.latest,
      ...[...entry.versions.values()].sort((a, b) => Number(a.version) - Number(b.version)),
    ];
  }

  // ---- Aliases ----------------------------------------------------------

  /** CreateAlias. */
  createAlias(functionName: string, alias: Omit<FunctionAlias, "revisionId">): FunctionAlias {
    const entry = this.#entry(parseFunctionReference(functionName).functionName);
    if (entry.aliases.has(alias.name)) {
      throw new ResourceConflictException(
        `Alias already exists: ${this.functionArn(entry.name)}:${alias.name}`,
      );
    }
    this.#checkAliasTargets(entry, alias.functionVersion, alias.additionalVersionWeights);

    const created: FunctionAlias = { ...alias, revisionId: randomUUID() };
    entry.aliases.set(alias.name, created);
    this.#save();
    return created;
  }

  /** GetAlias. */
  getAlias(functionName: string, aliasName: string): FunctionAlias {
    const entry = this.#entry(parseFunctionReference(functionName).functionName);
    const alias = entry.aliases.get(aliasName);
    if (!alias)
      throw new ResourceNotFoundException(
        `Cannot find alias arn: ${this.functionArn(entry.name)}:${aliasName}`,
      );
    return alias;
  }

  /** UpdateAlias: undefined fields keep their values. */
  updateAlias(
    functionName: string,
    aliasName: string,
    patch: Partial<Omit<FunctionAlias, "name" | "revisionId">>,
    revisionId?: string,
  ): FunctionAlias {
    const entry = this.#entry(parseFunctionReference(functionName).functionName);
    const alias = this.getAlias(entry.name, aliasName);
    if (revisionId && revisionId !== alias.revisionId) throw revisionConflict();

    const functionVersion = patch.functionVersion ?? alias.functionVersion;
    const weights = patch.additionalVersionWeights ?? alias.additionalVersionWeights;
    this.#checkAliasTargets(entry, functionVersion, weights);
    alias.functionVersion = functionVersion;
    alias.additionalVersionWeights =
      weights && Object.keys(weights).length > 0 ? weights : undefined;
    if (patch.description !== undefined) alias.description = patch.description;
    alias.revisionId = randomUUID();
    this.#save();
    return alias;
  }

  /** DeleteAlias; deleting an alias that does not exist succeeds, as on Lambda. */
  deleteAlias(functionName: string, aliasName: string): void {
    const entry = this.#entry(parseFunctionReference(functionName).functionName);
    entry.aliases.delete(aliasName);
    entry.eventInvokeConfigs.delete(aliasName);
    this.#save();
  }

  /** ListAliases, optionally only those that route to one version. */
  listAliases(functionName: string, functionVersion?: string): FunctionAlias[] {
    const entry = this.#entry(parseFunctionReference(functionName).functionName);
    return [...entry.aliases.values()]
      .filter(
        (alias) =>
          !functionVersion ||
          alias.functionVersion === functionVersion ||
          alias.additionalVersionWeights?.[functionVersion] !== undefined,
      )
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  // ---- Concurrency and asynchronous settings -----------------------------

  /** PutFunctionConcurrency / DeleteFunctionConcurrency (undefined removes it). */
  setReservedConcurrency(functionName: string, reserved: number | undefined): void {
    const entry = this.#entry(parseFunctionReference(functionName).functionName);
    entry.reservedConcurrency = reserved;
    this.#save();
    this.emit("concurrency-changed", entry.name);
  }

  /** Reserved concurrency of every function, for the account's unreserved pool. */
  totalReservedConcurrency(): number {
    let total = 0;
    for (const entry of this.#functions.values()) total += entry.reservedConcurrency ?? 0;
    return total;
  }

  /** PutFunctionEventInvokeConfig replaces; UpdateFunctionEventInvokeConfig merges (`merge`). */
  putEventInvokeConfig(
    functionName: string,
    qualifier: string | undefined,
    config: Omit<EventInvokeConfig, "lastModified">,
    merge = false,
  ): EventInvokeConfig {
    const reference = parseFunctionReference(functionName);
    const key = combineQualifier(reference.qualifier, qualifier) ?? "$LATEST";
    const entry = this.#entry(reference.functionName, key);
    this.#versionFor(entry, key, false);

    const previous = entry.eventInvokeConfigs.get(key);
    const lastModified = this.clock.now();
    const stored: EventInvokeConfig =
      merge && previous
        ? { ...previous, ...stripUndefined(config), lastModified }
        : { ...config, lastModified };
    entry.eventInvokeConfigs.set(key, stored);
    this.#save();
    return stored;
  }

  /** GetFunctionEventInvokeConfig; undefined when none is set for that qualifier. */
  eventInvokeConfig(functionName: string, qualifier?: string): EventInvokeConfig | undefined {
    const reference = parseFunctionReference(functionName);
    const key = combineQualifier(reference.qualifier, qualifier) ?? "$LATEST";
    return this.#entry(reference.functionName, key).eventInvokeConfigs.get(key);
  }

  /** DeleteFunctionEventInvokeConfig. */
  deleteEventInvokeConfig(functionName: string, qualifier?: string): void {
    const reference = parseFunctionReference(functionName);
    const key = combineQualifier(reference.qualifier, qualifier) ?? "$LATEST";
    const entry = this.#entry(reference.functionName, key);
    if (!entry.eventInvokeConfigs.delete(key)) {
      throw new ResourceNotFoundException(
        `The function ${this.functionArn(entry.name)}:${key} doesn't have an EventInvokeConfig`,
      );
    }
    this.#save();
  }

  // ---- Tags -------------------------------------------------------------

  /** TagResource / UntagResource. Setting tags are validated and recycle environments. */
  updateTags(functionName: string, set: Record<string, string>, remove: string[] = []): void {
    const entry = this.#entry(parseFunctionReference(functionName).functionName);
    const tags = { ...entry.tags, ...set };
    for (const key of remove) delete tags[key];
    const settings = parseSettingTags(tags);

    const settingsChanged =
      JSON.stringify(settings) !== JSON.stringify(entry.latest.config.simulator);
    entry.tags = tags;
    if (settingsChanged) {
      entry.latest.config = { ...entry.latest.config, simulator: settings };
      this.#touch(entry.latest);
    }
    this.#save();
    if (settingsChanged) this.emit("configuration-changed", entry.name);
  }

  /** Stops file watchers and pending state transitions. */
  close(): void {
    this.#closed = true;
    for (const name of [...this.#watchers.keys()]) this.#unwatch(name);
    for (const timer of this.#timers) this.clock.clearTimeout(timer);
    this.#timers.clear();
  }

  // ---- Internals --------------------------------------------------------

  #entry(functionName: string, qualifier?: string): FunctionEntry {
    const entry = this.#functions.get(functionName);
    if (!entry) {
      const arn = this.functionArn(functionName) + (qualifier ? `:${qualifier}` : "");
      throw new ResourceNotFoundException(`Function not found: ${arn}`);
    }
    return entry;
  }

  #versionFor(
    entry: FunctionEntry,
    qualifier: string | undefined,
    routeAlias: boolean,
  ): FunctionVersion {
    if (qualifier === undefined || qualifier === "$LATEST") return entry.latest;
    const version = entry.versions.get(qualifier);
    if (version) return version;

    const alias = entry.aliases.get(qualifier);
    if (!alias)
      throw new ResourceNotFoundException(
        `Function not found: ${this.functionArn(entry.name)}:${qualifier}`,
      );
    const target = routeAlias ? pickWeightedVersion(alias) : alias.functionVersion;
    return this.#versionFor(entry, target, false);
  }

  #checkAliasTargets(
    entry: FunctionEntry,
    functionVersion: string,
    weights?: Record<string, number>,
  ): void {
    if (functionVersion !== "$LATEST" && !entry.versions.has(functionVersion)) {
      throw new ResourceNotFoundException(
        `Function not found: ${this.functionArn(entry.name)}:${functionVersion}`,
      );
    }
    for (const [version, weight] of Object.entries(weights ?? {})) {
      if (!entry.versions.has(version)) {
        throw new ResourceNotFoundException(
          `Function not found: ${this.functionArn(entry.name)}:${version}`,
        );
      }
      if (version === functionVersion) {
        throw new InvalidParameterValueException(
          `Invalid value for RoutingConfig.AdditionalVersionWeights: version ${version} is already the alias's FunctionVersion.`,
        );
      }
      if (!(weight >= 0 && weight <= 1)) {
        throw new InvalidParameterValueException(
          `Invalid value for RoutingConfig.AdditionalVersionWeights: weight ${weight} of version ${version} must be between 0.0 and 1.0.`,
        );
      }
    }
  }

  #checkUpdatable(entry: FunctionEntry, revisionId?: string): void {
    if (revisionId && revisionId !== entry.latest.revisionId) throw revisionConflict();
    // Lambda applies updates asynchronously and rejects a second one while
    // the first is InProgress.
    // https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
    const latest = entry.latest;
    if (latest.lastUpdateStatus === "InProgress" || latest.state === "Pending") {
      throw updateInProgress(this.functionArn(entry.name));
    }
  }

  #touch(version: FunctionVersion): void {
    version.lastModified = this.clock.now();
    version.revisionId = randomUUID();
  }

  /**
   * Puts `$LATEST` in its short Pending (create) or InProgress (update) phase
   * and schedules the move to Active/Successful on the simulator clock.
   */
  #beginTransition(entry: FunctionEntry, kind: "create" | "update"): void {
    const latest = entry.latest;
    if (this.transitionMs <= 0) {
      latest.state = "Active";
      if (kind === "update") latest.lastUpdateStatus = "Successful";
      return;
    }
    if (kind === "create") {
      latest.state = "Pending";
      latest.stateReason = "The function is being created.";
      latest.stateReasonCode = "Creating";
    } else {
      latest.lastUpdateStatus = "InProgress";
      latest.lastUpdateStatusReason = "The function is being created.";
      latest.lastUpdateStatusReasonCode = "Creating";
    }

    const timer = this.clock.setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#closed || this.#functions.get(entry.name) !== entry) return;
      latest.state = "Active";
      latest.stateReason = undefined;
      latest.stateReasonCode = undefined;
      latest.lastUpdateStatus = "Successful";
      latest.lastUpdateStatusReason = undefined;
      latest.lastUpdateStatusReasonCode = undefined;
      this.#save();
    }, this.transitionMs);
    this.#timers.add(timer);
  }

  async #storeCode(functionName: string, code: FunctionCode): Promise<StoredCode> {
    if ("zipFile" in code) {
      assertUnpackFolderReadable(this.#functionsRoot, this.codeAccess);
      return storeZip(path.join(this.#functionsRoot, functionName), code.zipFile);
    }

    const directory = code.hotReloadDir;
    if (
      !path.isAbsolute(directory) ||
      !existsSync(directory) ||
      !statSync(directory).isDirectory()
    ) {
      throw new InvalidParameterValueException(
        `Invalid value for Code.S3Key: hot-reload code must be an absolute path of an existing folder, got ${JSON.stringify(directory)}.`,
      );
    }
    assertHotReloadFolderReadable(directory, this.codeAccess);
    const fingerprint = await fingerprintDirectory(directory);
    return { codeDir: directory, hotReloadDir: directory, ...fingerprint };
  }

  /**
   * Warns when a hot-reload folder's `.js` handler loads as an ES module
   * only because of a package.json above the folder. The code still runs as
   * it is, but Lambda would run a zip of the folder as CommonJS.
   */
  #warnOnModuleTypeConflict(
    config: Pick<FunctionConfig, "functionName" | "runtime" | "handler">,
    code: StoredCode,
  ): void {
    if (!code.hotReloadDir || !config.runtime.startsWith("nodejs")) return;
    const conflict = findModuleTypeConflict(code.hotReloadDir, config.handler);
    if (!conflict) return;
    this.logger.warn(
      {
        functionName: config.functionName,
        codeDir: code.hotReloadDir,
        handlerFile: conflict.handlerFile,
        packageJson: conflict.packageJson,
        fix: `Add a package.json to ${code.hotReloadDir} (for example {}, or {"type":"module"} for ES module code), so the code loads here as it does on Lambda.`,
      },
      'hot-reload .js handler loads as an ES module, because a package.json above its folder sets "type": "module", but Lambda loads it as CommonJS',
    );
  }

  // Zip code unpacked by an older simulator has no package.json boundary yet.
  #addPackageBoundary(functionName: string): void {
    const folder = path.join(this.#functionsRoot, functionName);
    if (!existsSync(folder)) return;
    writePackageBoundary(folder).catch((error: unknown) =>
      this.logger.warn({ functionName, folder, err: error }, "package.json boundary not written"),
    );
  }

  #watch(entry: FunctionEntry): void {
    const directory = entry.latest.hotReloadDir;
    if (!directory || this.#closed) return;

    // Editors write files in bursts (temp file, rename, chmod): wait for the
    // burst to settle before fingerprinting.
    const watcher = watch(directory, { recursive: true }, () => {
      const slot = this.#watchers.get(entry.name);
      if (!slot) return;
      this.clock.clearTimeout(slot.debounce);
      slot.debounce = this.clock.setTimeout(
        () => void this.#reloadHotCode(entry),
        HOT_RELOAD_DEBOUNCE_MS,
      );
    });
    watcher.on("error", (error) =>
      this.logger.warn({ functionName: entry.name, err: error }, "hot-reload watch failed"),
    );
    watcher.unref();
    this.#watchers.set(entry.name, { watcher });
  }

  #unwatch(functionName: string): void {
    const slot = this.#watchers.get(functionName);
    if (!slot) return;
    this.clock.clearTimeout(slot.debounce);
    slot.watcher.close();
    this.#watchers.delete(functionName);
  }

  async #reloadHotCode(entry: FunctionEntry): Promise<void> {
    const directory = entry.latest.hotReloadDir;
    if (!directory || this.#functions.get(entry.name) !== entry || !existsSync(directory)) return;

    const fingerprint = await fingerprintDirectory(directory);
    if (fingerprint.codeSha256 === entry.latest.codeSha256) return;
    entry.latest.codeSha256 = fingerprint.codeSha256;
    entry.latest.codeSize = fingerprint.codeSize;
    this.#touch(entry.latest);
    this.#save();
    this.logger.info(
      { functionName: entry.name, codeSha256: fingerprint.codeSha256 },
      "hot-reload code changed",
    );
    this.emit("configuration-changed", entry.name);
  }

  #save(): void {
    const functions = [...this.#functions.values()].map((entry) => ({
      ...entry,
      versions: [...entry.versions.values()],
      aliases: [...entry.aliases.values()],
      eventInvokeConfigs: Object.fromEntries(entry.eventInvokeConfigs),
    }));
    const temporary = `${this.#stateFile}.tmp`;
    writeFileSync(temporary, JSON.stringify({ formatVersion: 1, functions }));
    renameSync(temporary, this.#stateFile);
  }

  #load(): void {
    if (!existsSync(this.#stateFile)) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.#stateFile, "utf8"));
    } catch (error) {
      // Keep the unreadable file for inspection and start empty rather than not at all.
      const aside = `${this.#stateFile}.corrupt-${Date.now()}`;
      renameSync(this.#stateFile, aside);
      this.logger.error(
        { err: error, file: aside },
        "function registry file unreadable, starting without functions",
      );
      return;
    }
    const saved = parsed as {
      functions: Array<
        Omit<FunctionEntry, "versions" | "aliases" | "eventInvokeConfigs"> & {
          versions: FunctionVersion[];
          aliases: FunctionAlias[];
          eventInvokeConfigs: Record<string, EventInvokeConfig>;
        }
      >;
    };

    for (const stored of saved.functions) {
      const entry: FunctionEntry = {
        ...stored,
        versions: new Map(stored.versions.map((version) => [version.version, version])),
        aliases: new Map(stored.aliases.map((alias) => [alias.name, alias])),
        eventInvokeConfigs: new Map(Object.entries(stored.eventInvokeConfigs)),
      };
      // A transition cut short by a restart has finished by now.
      for (const version of [entry.latest, ...entry.versions.values()]) {
        if (version.state === "Pending") version.state = "Active";
        if (version.lastUpdateStatus === "InProgress") version.lastUpdateStatus = "Successful";
        version.stateReason = version.stateReasonCode = undefined;
        version.lastUpdateStatusReason = version.lastUpdateStatusReasonCode = undefined;
      }
      this.#functions.set(entry.name, entry);
      if (entry.latest.hotReloadDir) this.#watch(entry);
      else this.#addPackageBoundary(entry.name);
    }
    this.logger.debug({ functions: this.#functions.size }, "function registry loaded");
  }
}

/** Formats a version's LastModified as Lambda does. */
export function lastModifiedOf(version: FunctionVersion): string {
  return formatLastModified(version.lastModified);
}

/**
 * Hash of everything that shapes an execution environment: code, the
 * configuration the sandbox starts with and the version. Reserved
 * concurrency is left out because changing it does not recycle environments.
 */
function configurationIdOf(version: FunctionVersion): string {
  // Every change of code or configuration gives the version a new RevisionId,
  // so the hash is computed once per revision instead of once per invocation.
  const cached = configurationIds.get(version);
  if (cached?.revisionId === version.revisionId) return cached.configurationId;

  const { reservedConcurrency: _unused, ...config } = version.config;
  const configurationId = createHash("sha256")
    .update(JSON.stringify({ version: version.version, codeSha256: version.codeSha256, config }))
    .digest("hex")
    .slice(0, 16);
  configurationIds.set(version, { revisionId: version.revisionId, configurationId });
  return configurationId;
}

const configurationIds = new WeakMap<
  FunctionVersion,
  { revisionId: string; configurationId: string }
>();

function pickWeightedVersion(alias: FunctionAlias): string {
  let draw = Math.random();
  for (const [version, weight] of Object.entries(alias.additionalVersionWeights ?? {})) {
    if (draw < weight) return version;
    draw -= weight;
  }
  return alias.functionVersion;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, field]) => field !== undefined),
  ) as Partial<T>;
}

function revisionConflict(): ResourceConflictException {
  return new ResourceConflictException(
    "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
  );
}

function updateInProgress(functionArn: string): ResourceConflictException {
  return new ResourceConflictException(
    `The operation cannot be performed at this time. An update is in progress for resource: ${functionArn}`,
  );
}

/** Validates a configuration and reports the invalid field by its Lambda API name. */
function validateConfig(input: Record<string, unknown>): FunctionConfig {
  const result = functionConfigSchema.safeParse(input, { error: allowedValueMessage });
  if (result.success) return result.data;

  const issue = result.error.issues[0];
  const field = AWS_FIELD_NAMES[String(issue.path[0])] ?? issue.path.join(".");
  const detail =
    issue.path.length > 1 && field.startsWith("Environment")
      ? ` (${issue.path.slice(1).join(".")})`
      : "";
  if (isMissing(input, issue.path)) {
    throw new InvalidParameterValueException(
      `Missing value for ${field}${detail}: ${issue.message}.`,
    );
  }
  throw new InvalidParameterValueException(
    `Invalid value for ${field}${detail}${receivedValue(input, issue.path)}: ${issue.message}.`,
  );
}

/**
 * Reads the simulator's settings from a function's tags, validating each.
 * Values are strings because tags are strings: seconds as integers, freeze as
 * `true` or `false`.
 */
export function parseSettingTags(tags: Record<string, string>): SimulatorSettings {
  // The prefix belongs to the simulator, so a misspelled setting is an error
  // rather than a tag that silently does nothing.
  const known = new Set<string>(Object.values(SETTING_TAGS));
  for (const key of Object.keys(tags)) {
    if (key.startsWith(SETTING_TAG_PREFIX) && !known.has(key)) {
      throw new InvalidParameterValueException(
        `Invalid tag ${key}: Warmstate has no such setting. Its settings are ${[...known].join(", ")}; fix the key, or use a key without the ${SETTING_TAG_PREFIX} prefix.`,
      );
    }
  }
  const raw: Record<string, unknown> = {};
  const numberTag = (key: keyof typeof SETTING_TAGS) => {
    const value = tags[SETTING_TAGS[key]];
    if (value === undefined) return;
    if (!/^\d+$/.test(value.trim())) {
      throw new InvalidParameterValueException(
        `Invalid value for tag ${SETTING_TAGS[key]}: ${JSON.stringify(value)} is not a whole number of seconds.`,
      );
    }
    raw[key] = Number(value);
  };
  numberTag("keepAliveSeconds");
  numberTag("maxLifetimeSeconds");

  const freeze = tags[SETTING_TAGS.freeze];
  if (freeze !== undefined) {
    if (freeze !== "true" && freeze !== "false") {
      throw new InvalidParameterValueException(
        `Invalid value for tag ${SETTING_TAGS.freeze}: ${JSON.stringify(freeze)} must be "true" or "false".`,
      );
    }
    raw.freeze = freeze === "true";
  }

  const result = simulatorSettingsSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = issue.path[0] as keyof typeof SETTING_TAGS;
  throw new InvalidParameterValueException(
    `Invalid value for tag ${SETTING_TAGS[key] ?? key}: ${issue.message}.`,
  );
}
