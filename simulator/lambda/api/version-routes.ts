import type { FastifyInstance, FastifyRequest } from "fastify";
import { InvalidParameterValueException, ResourceNotFoundException } from "../errors.ts";
import { combineQualifier, parseFunctionReference } from "./function-name.ts";
import {
  createAliasSchema,
  eventInvokeConfigSchema,
  publishVersionSchema,
  putConcurrencySchema,
  tagResourceSchema,
  updateAliasSchema,
} from "./schemas.ts";
import type { LambdaServiceLike } from "./service-like.ts";
import { aliasConfiguration, eventInvokeConfiguration, functionConfiguration } from "./shapes.ts";
import { paginate, parseJsonBody, queryParameter } from "./wire.ts";

type NamedRequest = FastifyRequest<{ Params: { FunctionName: string } }>;
type AliasRequest = FastifyRequest<{ Params: { FunctionName: string; Name: string } }>;

// Lambda's default quotas: 1,000 concurrent executions per account, of which
// 100 always stay unreserved; 75 GB of code storage; 50 MB zipped and
// 250 MB unzipped per function.
// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
const DEFAULT_ACCOUNT_CONCURRENCY = 1_000;
const MINIMUM_UNRESERVED = 100;
const TOTAL_CODE_SIZE = 75 * 1024 ** 3;
const CODE_SIZE_ZIPPED = 50 * 1024 ** 2;
const CODE_SIZE_UNZIPPED = 250 * 1024 ** 2;
// ListVersionsByFunction and ListAliases return at most 50 items per page by default.
// https://docs.aws.amazon.com/lambda/latest/api/API_ListVersionsByFunction.html
const LIST_PAGE_SIZE = 50;

function nameOf(request: NamedRequest): string {
  return parseFunctionReference(request.params.FunctionName).functionName;
}

/** Versions, aliases, concurrency, asynchronous settings, tags and account settings. */
export function registerVersionRoutes(app: FastifyInstance, service: LambdaServiceLike): void {
  const registry = service.registry;
  const accountConcurrency = service.accountConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY;

  // ---- Versions

  app.post("/2015-03-31/functions/:FunctionName/versions", async (request: NamedRequest, reply) => {
    const body = parseJsonBody(request, publishVersionSchema);
    const version = registry.publishVersion(nameOf(request), {
      description: body.Description,
      codeSha256: body.CodeSha256,
      revisionId: body.RevisionId,
    });
    return reply.status(201).send(functionConfiguration(registry, version));
  });

  app.get("/2015-03-31/functions/:FunctionName/versions", async (request: NamedRequest) => {
    const { page, nextMarker } = paginate(
      request,
      registry.listVersions(nameOf(request)),
      LIST_PAGE_SIZE,
    );
    return {
      Versions: page.map((version) =>
        functionConfiguration(registry, version, { qualifyLatest: true }),
      ),
      ...(nextMarker ? { NextMarker: nextMarker } : {}),
    };
  });

  // ---- Aliases

  app.post("/2015-03-31/functions/:FunctionName/aliases", async (request: NamedRequest, reply) => {
    const body = parseJsonBody(request, createAliasSchema);
    const name = nameOf(request);
    const alias = registry.createAlias(name, {
      name: body.Name,
      functionVersion: body.FunctionVersion,
      description: body.Description ?? "",
      additionalVersionWeights: body.RoutingConfig?.AdditionalVersionWeights,
    });
    return reply.status(201).send(aliasConfiguration(registry, name, alias));
  });

  app.get("/2015-03-31/functions/:FunctionName/aliases", async (request: NamedRequest) => {
    const name = nameOf(request);
    const aliases = registry.listAliases(name, queryParameter(request, "FunctionVersion"));
    const { page, nextMarker } = paginate(request, aliases, LIST_PAGE_SIZE);
    return {
      Aliases: page.map((alias) => aliasConfiguration(registry, name, alias)),
      ...(nextMarker ? { NextMarker: nextMarker } : {}),
    };
  });

  app.get("/2015-03-31/functions/:FunctionName/aliases/:Name", async (request: AliasRequest) => {
    const name = nameOf(request);
    return aliasConfiguration(registry, name, registry.getAlias(name, request.params.Name));
  });

  app.put("/2015-03-31/functions/:FunctionName/aliases/:Name", async (request: AliasRequest) => {
    const body = parseJsonBody(request, updateAliasSchema);
    const name = nameOf(request);
    const alias = registry.updateAlias(
      name,
      request.params.Name,
      {
        functionVersion: body.FunctionVersion,
        description: body.Description,
        additionalVersionWeights: body.RoutingConfig
          ? (body.RoutingConfig.AdditionalVersionWeights ?? {})
          : undefined,
      },
      body.RevisionId,
    );
    return aliasConfiguration(registry, name, alias);
  });

  app.delete(
    "/2015-03-31/functions/:FunctionName/aliases/:Name",
    async (request: AliasRequest, reply) => {
      registry.deleteAlias(nameOf(request), request.params.Name);
      return reply.status(204).send();
    },
  );

  // ---- Reserved concurrency

  app.put("/2017-10-31/functions/:FunctionName/concurrency", async (request: NamedRequest) => {
    const body = parseJsonBody(request, putConcurrencySchema);
    const name = nameOf(request);
    const reservedElsewhere =
      registry.totalReservedConcurrency() - (registry.reservedConcurrency(name) ?? 0);
    if (
      accountConcurrency - reservedElsewhere - body.ReservedConcurrentExecutions <
      MINIMUM_UNRESERVED
    ) {
      throw new InvalidParameterValueException(
        `Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${MINIMUM_UNRESERVED}].`,
      );
    }
    registry.setReservedConcurrency(name, body.ReservedConcurrentExecutions);
    return { ReservedConcurrentExecutions: body.ReservedConcurrentExecutions };
  });

  app.delete(
    "/2017-10-31/functions/:FunctionName/concurrency",
    async (request: NamedRequest, reply) => {
      registry.setReservedConcurrency(nameOf(request), undefined);
      return reply.status(204).send();
    },
  );

  app.get("/2019-09-30/functions/:FunctionName/concurrency", async (request: NamedRequest) => {
    const reserved = registry.reservedConcurrency(nameOf(request));
    return reserved === undefined ? {} : { ReservedConcurrentExecutions: reserved };
  });

  // ---- Asynchronous invocation settings

  const putEventInvokeConfig = (merge: boolean) => async (request: NamedRequest) => {
    const body = parseJsonBody(request, eventInvokeConfigSchema);
    const reference = parseFunctionReference(request.params.FunctionName);
    const qualifier =
      combineQualifier(reference.qualifier, queryParameter(request, "Qualifier")) ?? "$LATEST";
    const stored = registry.putEventInvokeConfig(
      reference.functionName,
      qualifier,
      {
        maximumRetryAttempts: body.MaximumRetryAttempts,
        maximumEventAgeInSeconds: body.MaximumEventAgeInSeconds,
        destinationConfig: body.DestinationConfig,
      },
      merge,
    );
    return eventInvokeConfiguration(registry, reference.functionName, qualifier, stored);
  };
  app.put("/2019-09-25/functions/:FunctionName/event-invoke-config", putEventInvokeConfig(false));
  app.post("/2019-09-25/functions/:FunctionName/event-invoke-config", putEventInvokeConfig(true));

  app.get(
    "/2019-09-25/functions/:FunctionName/event-invoke-config",
    async (request: NamedRequest) => {
      const reference = parseFunctionReference(request.params.FunctionName);
      const qualifier =
        combineQualifier(reference.qualifier, queryParameter(request, "Qualifier")) ?? "$LATEST";
      const stored = registry.eventInvokeConfig(reference.functionName, qualifier);
      if (!stored) {
        throw new ResourceNotFoundException(
          `The function ${registry.functionArn(reference.functionName)}:${qualifier} doesn't have an EventInvokeConfig`,
        );
      }
      return eventInvokeConfiguration(registry, reference.functionName, qualifier, stored);
    },
  );

  app.delete(
    "/2019-09-25/functions/:FunctionName/event-invoke-config",
    async (request: NamedRequest, reply) => {
      registry.deleteEventInvokeConfig(
        request.params.FunctionName,
        queryParameter(request, "Qualifier"),
      );
      return reply.status(204).send();
    },
  );

  // ---- Tags (the simulator's per-function settings live in tags)

  type TagRequest = FastifyRequest<{ Params: { Resource: string } }>;
  app.get("/2017-03-31/tags/:Resource", async (request: TagRequest) => {
    return { Tags: registry.tagsOf(request.params.Resource) };
  });

  app.post("/2017-03-31/tags/:Resource", async (request: TagRequest, reply) => {
    const body = parseJsonBody(request, tagResourceSchema);
    registry.updateTags(request.params.Resource, body.Tags);
    return reply.status(204).send();
  });

  app.delete("/2017-03-31/tags/:Resource", async (request: TagRequest, reply) => {
    const raw = (request.query as Record<string, string | string[] | undefined>).tagKeys;
    const keys = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    registry.updateTags(request.params.Resource, {}, keys);
    return reply.status(204).send();
  });

  // ---- Account

  const accountSettings = async () => {
    const versions = registry.functionNames().flatMap((name) => registry.listVersions(name));
    const totalCodeSize = versions.reduce((sum, version) => sum + version.codeSize, 0);
    return {
      AccountLimit: {
        TotalCodeSize: TOTAL_CODE_SIZE,
        CodeSizeUnzipped: CODE_SIZE_UNZIPPED,
        CodeSizeZipped: CODE_SIZE_ZIPPED,
        ConcurrentExecutions: accountConcurrency,
        UnreservedConcurrentExecutions: accountConcurrency - registry.totalReservedConcurrency(),
      },
      AccountUsage: {
        TotalCodeSize: totalCodeSize,
        FunctionCount: registry.functionNames().length,
      },
    };
  };
  app.get("/2016-08-19/account-settings", accountSettings);
  app.get("/2016-08-19/account-settings/", accountSettings);
}
