/**
 * Live leak diagnostics from a running simulator, as a Fastify plugin
 * registered under `/_warmstate` next to the admin API:
 *
 * - `GET /diagnostics?function=NAME`: per environment, growth per invocation
 *   of descriptors, /tmp bytes and memory, the forecast invocation at which
 *   each reaches its limit, and what grows
 * - `GET /diagnostics/series?function=NAME`: the probe series and invocation
 *   summaries behind them (what a replay attached with --endpoint reads)
 *
 * Series start when the plugin is registered; earlier invocations are not seen.
 * A long-running server keeps the latest 100,000 invocation summaries and
 * the latest 1,000 environments that are gone.
 */
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import type { EnvironmentRecord } from "../report/run-data.ts";
import { type ObservedLambda, ProbeSeriesStore } from "./probe-series.ts";
import { findingsOfRecord } from "./record-findings.ts";

/** Options of {@link diagnosticsPlugin}. */
export interface DiagnosticsOptions {
  lambda: ObservedLambda & { registry: { clock?: { now(): number } } };
}

type FunctionQuery = FastifyRequest<{ Querystring: { function?: string } }>;

/** Registers the diagnostics routes; stops listening to the Lambda service on close. */
export const diagnosticsPlugin: FastifyPluginAsync<DiagnosticsOptions> = async (app, options) => {
  const { lambda } = options;
  const store = new ProbeSeriesStore(lambda, () => lambda.registry.clock?.now() ?? Date.now(), {
    maxInvocations: 100_000,
    maxGoneEnvironments: 1_000,
  });
  app.addHook("onClose", async () => store.detach());

  const environmentsFor = (request: FunctionQuery): EnvironmentRecord[] => {
    const name = request.query.function;
    if (name) lambda.registry.resolve(name);
    return store.environments(name);
  };

  app.get("/diagnostics", async (request: FunctionQuery) => {
    const environments = environmentsFor(request).map((environment) => ({
      environmentId: environment.environmentId,
      functionName: environment.functionName,
      status: environment.status,
      endReason: environment.endReason,
      invocations: environment.invocations,
      findings: findingsOfRecord(environment),
    }));
    return {
      environments,
      leaking: environments.filter((environment) => environment.findings.messages.length > 0)
        .length,
    };
  });

  app.get("/diagnostics/series", async (request: FunctionQuery) => ({
    environments: environmentsFor(request),
    invocations: store.invocations(request.query.function),
  }));
};
