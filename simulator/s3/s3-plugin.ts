import { randomBytes } from "node:crypto";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import {
  createBucket,
  deleteBucket,
  deleteObjects,
  getBucketLocation,
  getBucketVersioning,
  headBucket,
  listBuckets,
  listObjectsV1,
  listObjectsV2,
} from "./bucket-handlers.ts";
import { methodNotAllowed, notImplemented, S3Error } from "./errors.ts";
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
  uploadPartCopy,
} from "./multipart-handlers.ts";
import { assertValidKey } from "./names.ts";
import {
  copyObject,
  deleteObject,
  getObject,
  headObject,
  putObject,
  unsupportedObjectSubresource,
} from "./object-handlers.ts";
import type { ObjectStore } from "./object-store.ts";
import { header, type S3Context } from "./s3-context.ts";
import { renderXml } from "./xml.ts";

/** Options of the S3 plugin. */
export interface S3PluginOptions {
  store: ObjectStore;
}

// Bucket subresources that the simulator does not implement.
const UNSUPPORTED_BUCKET_SUBRESOURCES = [
  "acl",
  "cors",
  "policy",
  "lifecycle",
  "tagging",
  "website",
  "replication",
  "encryption",
  "logging",
  "notification",
  "object-lock",
  "ownershipControls",
  "publicAccessBlock",
  "versions",
  "accelerate",
  "analytics",
  "inventory",
  "metrics",
  "requestPayment",
];

/**
 * Splits a path-style URL (`/bucket/key?query`, after the plugin prefix)
 * into bucket, key and query. The raw path is split on its first `/` before
 * decoding, so `%2F` and `..` stay part of the key and no path normalization
 * ever happens.
 */
function parseTarget(url: string): { bucket: string; key: string; query: URLSearchParams } {
  const questionMark = url.indexOf("?");
  const rawPath = questionMark === -1 ? url : url.slice(0, questionMark);
  const query = new URLSearchParams(questionMark === -1 ? "" : url.slice(questionMark + 1));
  const withoutSlash = rawPath.startsWith("/") ? rawPath.slice(1) : rawPath;
  const slash = withoutSlash.indexOf("/");
  const rawBucket = slash === -1 ? withoutSlash : withoutSlash.slice(0, slash);
  const rawKey = slash === -1 ? "" : withoutSlash.slice(slash + 1);
  try {
    return { bucket: decodeURIComponent(rawBucket), key: decodeURIComponent(rawKey), query };
  } catch (error) {
    throw new S3Error(
      "InvalidURI",
      400,
      "Couldn't parse the specified URI.",
      { URI: url },
      { cause: error },
    );
  }
}

async function dispatchService(context: S3Context, method: string): Promise<void> {
  if (method === "GET") return listBuckets(context);
  throw methodNotAllowed(method, "SERVICE");
}

async function dispatchBucket(context: S3Context, method: string): Promise<void> {
  const { query } = context;
  const unsupported = UNSUPPORTED_BUCKET_SUBRESOURCES.find((name) => query.has(name));
  if (unsupported) throw notImplemented(`the ?${unsupported} bucket subresource`);

  // PUT and DELETE on a bucket with any subresource (other than the SDK's
  // x-id marker) configure the bucket rather than create or delete it.
  const subresource = [...query.keys()].find((name) => name !== "x-id");
  if ((method === "PUT" || method === "DELETE") && subresource !== undefined) {
    throw notImplemented(`${method} on the ?${subresource} bucket subresource`);
  }

  switch (method) {
    case "PUT":
      return createBucket(context);
    case "HEAD":
      return headBucket(context);
    case "DELETE":
      return deleteBucket(context);
    case "POST":
      if (query.has("delete")) return deleteObjects(context);
      throw methodNotAllowed(method, "BUCKET");
    case "GET":
      if (query.has("uploads")) return listMultipartUploads(context);
      if (query.has("location")) return getBucketLocation(context);
      if (query.has("versioning")) return getBucketVersioning(context);
      if (query.get("list-type") === "2") return listObjectsV2(context);
      return listObjectsV1(context);
    default:
      throw methodNotAllowed(method, "BUCKET");
  }
}

async function dispatchObject(context: S3Context, method: string): Promise<void> {
  const { query } = context;
  assertValidKey(context.key);
  const unsupported = unsupportedObjectSubresource(context);
  if (unsupported) throw notImplemented(`the ?${unsupported} object subresource`);
  const uploadId = query.get("uploadId");

  switch (method) {
    case "GET":
      if (uploadId !== null) return listParts(context, uploadId);
      return getObject(context);
    case "HEAD":
      return headObject(context);
    case "PUT": {
      const partNumber = query.get("partNumber");
      const copySource = header(context.request, "x-amz-copy-source");
      if (uploadId !== null && partNumber !== null) {
        if (copySource !== undefined)
          return uploadPartCopy(context, uploadId, partNumber, copySource);
        return uploadPart(context, uploadId, partNumber);
      }
      if (copySource !== undefined) return copyObject(context, copySource);
      return putObject(context);
    }
    case "POST":
      if (query.has("uploads")) return createMultipartUpload(context);
      if (uploadId !== null) return completeMultipartUpload(context, uploadId);
      throw methodNotAllowed(method, "OBJECT");
    case "DELETE":
      if (uploadId !== null) return abortMultipartUpload(context, uploadId);
      return deleteObject(context);
    default:
      throw methodNotAllowed(method, "OBJECT");
  }
}

/**
 * Sends an S3 error: its status, any headers it carries, and the XML error
 * body with Code, Message, the error's own elements and the RequestId. HEAD
 * responses have no body, so clients see only the status.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#RESTErrorResponses
 */
function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  requestId: string,
): void {
  let s3Error: S3Error;
  if (error instanceof S3Error) {
    s3Error = error;
    request.log.debug({ requestId, code: s3Error.name, err: error }, "s3 request rejected");
  } else {
    request.log.error({ requestId, err: error }, "s3 request failed");
    s3Error = new S3Error(
      "InternalError",
      500,
      "We encountered an internal error. Please try again.",
    );
  }
  if (reply.sent || reply.raw.headersSent) return;

  reply.status(s3Error.statusCode);
  for (const [name, value] of Object.entries(s3Error.headers)) reply.header(name, value);
  if (request.method === "HEAD") {
    reply.send();
    return;
  }
  const body = renderXml(
    "Error",
    {
      Code: s3Error.name,
      Message: s3Error.message,
      ...s3Error.details,
      RequestId: requestId,
      HostId: requestId,
    },
    false,
  );
  reply.header("content-type", "application/xml").send(body);
}

/**
 * Serves the S3 REST API with path-style addressing from an ObjectStore.
 * Any access key is accepted and signatures are not checked. Request bodies
 * stay unread streams in this plugin's scope, so objects are streamed to
 * disk rather than buffered.
 */
export const s3Plugin: FastifyPluginAsync<S3PluginOptions> = async (app, options) => {
  const { store } = options;
  const prefix = app.prefix;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _payload, done) => done(null, undefined));

  app.setErrorHandler((error, request, reply) => {
    const requestId = String(reply.getHeader("x-amz-request-id") ?? newRequestId());
    sendError(request, reply, error, requestId);
  });

  app.route({
    method: ["GET", "HEAD", "PUT", "POST", "DELETE"],
    url: "/*",
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const requestId = newRequestId();
      reply.header("x-amz-request-id", requestId).header("x-amz-id-2", requestId);
      try {
        const url = request.url.startsWith(prefix) ? request.url.slice(prefix.length) : request.url;
        const target = parseTarget(url);
        const context: S3Context = { request, reply, store, requestId, ...target };
        request.log.debug(
          { requestId, method: request.method, bucket: target.bucket, key: target.key },
          "s3 request",
        );
        if (target.bucket === "") await dispatchService(context, request.method);
        else if (target.key === "") await dispatchBucket(context, request.method);
        else await dispatchObject(context, request.method);
      } catch (error) {
        sendError(request, reply, error, requestId);
      }
      return reply;
    },
  });
};

function newRequestId(): string {
  return randomBytes(8).toString("hex").toUpperCase();
}
