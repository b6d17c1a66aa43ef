import type { FastifyInstance, FastifyRequest } from "fastify";
import { InvalidParameterValueException } from "../errors.ts";
import {
  type FunctionCode,
  type FunctionRegistry,
  HOT_RELOAD_BUCKET,
} from "../function-registry.ts";
import { parseFunctionReference } from "./function-name.ts";
import { createFunctionSchema, updateCodeSchema, updateConfigurationSchema } from "./schemas.ts";
import type { LambdaServiceLike } from "./service-like.ts";
import { functionConfiguration } from "./shapes.ts";
import { paginate, parseJsonBody, queryParameter } from "./wire.ts";

type NamedRequest = FastifyRequest<{ Params: { FunctionName: string } }>;

// ListFunctions returns at most 50 functions per page by default, and
// MaxItems may ask for 1 to 10,000.
// https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html
const DEFAULT_PAGE_SIZE = 50;

/**
 * Reads Code from CreateFunction or UpdateFunctionCode: a base64 ZipFile, or
 * the hot-reload bucket with an absolute folder as the key.
 */
export function readCode(code: {
  ZipFile?: string;
  S3Bucket?: string;
  S3Key?: string;
  ImageUri?: string;
}): FunctionCode {
  if (code.ImageUri) {
    throw new InvalidParameterValueException(
      "Invalid value for Code.ImageUri: container images are not supported. Upload a zip archive in Code.ZipFile.",
    );
  }
  if (code.ZipFile) {
    const zipFile = Buffer.from(code.ZipFile, "base64");
    if (zipFile.length === 0)
      throw new InvalidParameterValueException(
        "Invalid value for Code.ZipFile: the archive is empty.",
      );
    return { zipFile };
  }
  if (code.S3Bucket === HOT_RELOAD_BUCKET && code.S3Key) return { hotReloadDir: code.S3Key };
  if (code.S3Bucket) {
    // TODO(lambda-api): read the archive from the simulator's own S3 store, as Lambda reads it from S3.
    throw new InvalidParameterValueException(
      `Invalid value for Code.S3Bucket: only "${HOT_RELOAD_BUCKET}" (with an absolute folder in S3Key) is supported. Upload the archive in Code.ZipFile instead.`,
    );
  }
  throw new InvalidParameterValueException(
    'Invalid value for Code: give ZipFile, or S3Bucket "hot-reload" with S3Key.',
  );
}

/** Reads the name of a path parameter, accepting names and ARNs. */
function nameOf(request: NamedRequest): string {
  return parseFunctionReference(request.params.FunctionName).functionName;
}

/** GetFunction's body: configuration, code location, tags and concurrency. */
function getFunctionBody(
  registry: FunctionRegistry,
  name: string,
  qualifier?: string,
): Record<string, unknown> {
  const version = registry.getFunction(name, qualifier);
  const functionName = version.config.functionName;
  const body: Record<string, unknown> = {
    Configuration: functionConfiguration(registry, version),
    // TODO(lambda-api): serve the archive for download; Lambda returns a presigned S3 URL in Location.
    Code: { RepositoryType: "S3" },
    Tags: registry.tagsOf(functionName),
  };
  const reserved = registry.reservedConcurrency(functionName);
  if (reserved !== undefined) body.Concurrency = { ReservedConcurrentExecutions: reserved };
  return body;
}

/** CreateFunction, GetFunction, ListFunctions, the two updates and DeleteFunction. */
export function registerFunctionRoutes(app: FastifyInstance, service: LambdaServiceLike): void {
  const registry = service.registry;

  app.post("/2015-03-31/functions", async (request, reply) => {
    const body = parseJsonBody(request, createFunctionSchema);
    if (body.PackageType === "Image") {
      throw new InvalidParameterValueException(
        "Invalid value for PackageType: Image functions are not supported. Use Zip.",
      );
    }
    const created = await registry.createFunction({
      functionName: parseFunctionReference(body.FunctionName).functionName,
      runtime: body.Runtime,
      handler: body.Handler,
      role: body.Role,
      code: readCode(body.Code),
      description: body.Description,
      timeout: body.Timeout,
      memorySize: body.MemorySize,
      environment: body.Environment?.Variables,
      ephemeralStorageSize: body.EphemeralStorage?.Size,
      architectures: body.Architectures,
      tags: body.Tags,
      publish: body.Publish,
    });
    const version = body.Publish
      ? (registry.listVersions(created.config.functionName).at(-1) ?? created)
      : created;
    return reply.status(201).send(functionConfiguration(registry, version));
  });

  const listFunctions = async (request: FastifyRequest) => {
    const all = queryParameter(request, "FunctionVersion") === "ALL";
    const versions = all
      ? registry.functionNames().flatMap((name) => registry.listVersions(name))
      : registry.listFunctions();
    const { page, nextMarker } = paginate(request, versions, DEFAULT_PAGE_SIZE);
    return {
      Functions: page.map((version) =>
        functionConfiguration(registry, version, { qualifyLatest: all }),
      ),
      ...(nextMarker ? { NextMarker: nextMarker } : {}),
    };
  };
  app.get("/2015-03-31/functions", listFunctions);
  app.get("/2015-03-31/functions/", listFunctions);

  app.get("/2015-03-31/functions/:FunctionName", async (request: NamedRequest) => {
    return getFunctionBody(
      registry,
      request.params.FunctionName,
      queryParameter(request, "Qualifier"),
    );
  });

  app.get("/2015-03-31/functions/:FunctionName/configuration", async (request: NamedRequest) => {
    const version = registry.getFunction(
      request.params.FunctionName,
      queryParameter(request, "Qualifier"),
    );
    return functionConfiguration(registry, version);
  });

  app.put("/2015-03-31/functions/:FunctionName/configuration", async (request: NamedRequest) => {
    const body = parseJsonBody(request, updateConfigurationSchema);
    const updated = registry.updateFunctionConfiguration(
      nameOf(request),
      {
        runtime: body.Runtime,
        handler: body.Handler,
        role: body.Role,
        description: body.Description,
        timeout: body.Timeout,
        memorySize: body.MemorySize,
        environment: body.Environment ? (body.Environment.Variables ?? {}) : undefined,
        ephemeralStorageSize: body.EphemeralStorage?.Size,
      },
      body.RevisionId,
    );
    return functionConfiguration(registry, updated);
  });

  app.put("/2015-03-31/functions/:FunctionName/code", async (request: NamedRequest) => {
    const body = parseJsonBody(request, updateCodeSchema);
    const code = readCode(body);
    if (body.DryRun) return functionConfiguration(registry, registry.getFunction(nameOf(request)));

    const updated = await registry.updateFunctionCode(nameOf(request), code, {
      publish: body.Publish,
      revisionId: body.RevisionId,
      architectures: body.Architectures,
    });
    const version = body.Publish
      ? (registry.listVersions(updated.config.functionName).at(-1) ?? updated)
      : updated;
    return functionConfiguration(registry, version);
  });

  app.delete("/2015-03-31/functions/:FunctionName", async (request: NamedRequest, reply) => {
    registry.deleteFunction(request.params.FunctionName, queryParameter(request, "Qualifier"));
    return reply.status(204).send();
  });
}
