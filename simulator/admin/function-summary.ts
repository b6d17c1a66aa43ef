import type { LambdaServiceLike } from "../lambda/api/service-like.ts";
import { lastModifiedOf } from "../lambda/function-registry.ts";

/** Summary of one function, as `/_warmstate/functions` returns it. */
export interface FunctionSummary {
  functionName: string;
  functionArn: string;
  state: string;
  lastUpdateStatus?: string;
  runtime: string;
  handler: string;
  codeSha256: string;
  /** The watched local folder, for hot-reload functions. */
  hotReloadDir?: string;
  lastModified: string;
  memorySize: number;
  timeout: number;
  reservedConcurrency?: number;
  simulator: { keepAliveSeconds: number; maxLifetimeSeconds: number; freeze: boolean };
  versions: string[];
  aliases: Array<{
    name: string;
    functionVersion: string;
    additionalVersionWeights?: Record<string, number>;
  }>;
  /** Environments by status, gone ones excluded. */
  environments: Record<string, number>;
  invocations: number;
}

/** Summaries of every function, sorted by name. */
export function describeFunctions(service: LambdaServiceLike): FunctionSummary[] {
  const registry = service.registry;
  return registry.functionNames().map((name) => {
    const latest = registry.getFunction(name);
    const environments: Record<string, number> = {};
    for (const environment of service.environments(name)) {
      if (environment.status === "gone") continue;
      environments[environment.status] = (environments[environment.status] ?? 0) + 1;
    }
    return {
      functionName: name,
      functionArn: registry.functionArn(name),
      state: latest.state,
      lastUpdateStatus: latest.lastUpdateStatus,
      runtime: latest.config.runtime,
      handler: latest.config.handler,
      codeSha256: latest.codeSha256,
      hotReloadDir: latest.hotReloadDir,
      lastModified: lastModifiedOf(latest),
      memorySize: latest.config.memorySize,
      timeout: latest.config.timeout,
      reservedConcurrency: registry.reservedConcurrency(name),
      simulator: latest.config.simulator,
      versions: registry.listVersions(name).map((version) => version.version),
      aliases: registry.listAliases(name).map((alias) => ({
        name: alias.name,
        functionVersion: alias.functionVersion,
        additionalVersionWeights: alias.additionalVersionWeights,
      })),
      environments,
      invocations: service.invocations(name).length,
    };
  });
}
