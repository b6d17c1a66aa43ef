import { invalidArgument, invalidRequest, malformedXml, S3Error } from "./errors.ts";
import type { ListPage } from "./key-index.ts";
import { assertValidKey } from "./names.ts";
import type { ObjectMetadata } from "./object-types.ts";
import { hasIntegrityHeader, readDocument } from "./request-body.ts";
import { integerParameter, OWNER, type S3Context, sendXml } from "./s3-context.ts";
import { parseXml, type XmlValue } from "./xml.ts";

/**
 * Most keys one list request returns, and most keys one DeleteObjects
 * request may name.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 */
const MAX_KEYS = 1000;

// Region reported for every bucket, matching the SDK's usual us-east-1.
const REGION = "us-east-1";

/** ListBuckets. */
export function listBuckets(context: S3Context): void {
  sendXml(context, "ListAllMyBucketsResult", {
    Owner: OWNER,
    Buckets: {
      Bucket: context.store
        .listBuckets()
        .map((bucket) => ({ Name: bucket.name, CreationDate: bucket.creationDate })),
    },
  });
}

/**
 * CreateBucket. A CreateBucketConfiguration body is read and ignored.
 * PARITY: in us-east-1, S3 returns 200 when you re-create a bucket you own.
 * The simulator returns BucketAlreadyOwnedByYou (409) as other regions do,
 * so tests catch double creation.
 */
export async function createBucket(context: S3Context): Promise<void> {
  await readDocument(context.request);
  await context.store.createBucket(context.bucket);
  context.reply.status(200).header("location", `/${context.bucket}`).send();
}

/** HeadBucket: 200 with the bucket's region, or 404 without a body. */
export function headBucket(context: S3Context): void {
  context.store.requireBucket(context.bucket);
  context.reply.status(200).header("x-amz-bucket-region", REGION).send();
}

export async function deleteBucket(context: S3Context): Promise<void> {
  await context.store.deleteBucket(context.bucket);
  context.reply.status(204).send();
}

/** GetBucketLocation: us-east-1 is reported as an empty LocationConstraint. */
export function getBucketLocation(context: S3Context): void {
  context.store.requireBucket(context.bucket);
  context.reply
    .status(200)
    .header("content-type", "application/xml")
    .send(
      `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>`,
    );
}

/**
 * GetBucketVersioning: buckets here are never versioned, which S3 reports as
 * a configuration without a Status element.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html
 */
export function getBucketVersioning(context: S3Context): void {
  context.store.requireBucket(context.bucket);
  sendXml(context, "VersioningConfiguration", {});
}

/**
 * URL-encodes a listed name for `encoding-type=url` the way S3 does, as
 * form encoding (a space becomes `+`), so clients decode it with
 * unquote-plus semantics.
 */
function encodeName(value: string, encode: boolean): string {
  if (!encode) return value;
  return encodeURIComponent(value)
    .replace(/%20/g, "+")
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function listingParameters(context: S3Context) {
  const { query } = context;
  const encodingType = query.get("encoding-type");
  if (encodingType !== null && encodingType !== "url") {
    throw invalidArgument(
      "Invalid Encoding Method specified in Request",
      "encoding-type",
      encodingType,
    );
  }
  return {
    prefix: query.get("prefix") ?? "",
    delimiter: query.get("delimiter") ?? "",
    requestedMaxKeys: integerParameter(query, "max-keys", MAX_KEYS, Number.MAX_SAFE_INTEGER),
    encode: encodingType === "url",
  };
}

function contentsOf(
  page: ListPage<ObjectMetadata>,
  encode: boolean,
  withOwner: boolean,
): XmlValue[] {
  return page.objects.map((object) => ({
    Key: encodeName(object.key, encode),
    LastModified: object.lastModified,
    ETag: object.etag,
    ...(object.checksum
      ? { ChecksumAlgorithm: object.checksum.algorithm, ChecksumType: object.checksum.type }
      : {}),
    Size: object.size,
    Owner: withOwner ? OWNER : undefined,
    StorageClass: "STANDARD",
  }));
}

// Continuation tokens are opaque to clients: the base64 of the last listed name.
const TOKEN_PREFIX = "ws1:";

function decodeContinuationToken(token: string): string {
  const decoded = Buffer.from(token, "base64").toString("utf8");
  if (!decoded.startsWith(TOKEN_PREFIX)) {
    throw invalidArgument(
      "The continuation token provided is incorrect",
      "continuation-token",
      token,
    );
  }
  return decoded.slice(TOKEN_PREFIX.length);
}

/** ListObjectsV2. */
export function listObjectsV2(context: S3Context): void {
  const { query } = context;
  const { prefix, delimiter, requestedMaxKeys, encode } = listingParameters(context);
  const continuationToken = query.get("continuation-token") ?? undefined;
  const startAfter = query.get("start-after") ?? undefined;
  // A continuation token takes precedence over StartAfter.
  const after =
    continuationToken !== undefined ? decodeContinuationToken(continuationToken) : startAfter;

  const page = context.store.listObjects(context.bucket, {
    prefix,
    delimiter,
    after,
    maxKeys: Math.min(requestedMaxKeys, MAX_KEYS),
  });
  const nextToken =
    page.isTruncated && page.lastItem !== undefined
      ? Buffer.from(TOKEN_PREFIX + page.lastItem).toString("base64")
      : undefined;

  sendXml(context, "ListBucketResult", {
    Name: context.bucket,
    Prefix: encodeName(prefix, encode),
    Delimiter: delimiter ? encodeName(delimiter, encode) : undefined,
    MaxKeys: requestedMaxKeys,
    EncodingType: encode ? "url" : undefined,
    KeyCount: page.objects.length + page.commonPrefixes.length,
    IsTruncated: page.isTruncated,
    ContinuationToken: continuationToken,
    NextContinuationToken: nextToken,
    StartAfter: startAfter !== undefined ? encodeName(startAfter, encode) : undefined,
    Contents: contentsOf(page, encode, query.get("fetch-owner") === "true"),
    CommonPrefixes: page.commonPrefixes.map((name) => ({ Prefix: encodeName(name, encode) })),
  });
}

/** ListObjects (version 1), with Marker and NextMarker. */
export function listObjectsV1(context: S3Context): void {
  const { prefix, delimiter, requestedMaxKeys, encode } = listingParameters(context);
  const marker = context.query.get("marker") ?? "";
  const page = context.store.listObjects(context.bucket, {
    prefix,
    delimiter,
    after: marker || undefined,
    maxKeys: Math.min(requestedMaxKeys, MAX_KEYS),
  });

  sendXml(context, "ListBucketResult", {
    Name: context.bucket,
    Prefix: encodeName(prefix, encode),
    Marker: encodeName(marker, encode),
    // S3 returns NextMarker only when a delimiter was given; otherwise clients use the last key.
    NextMarker:
      page.isTruncated && delimiter && page.lastItem
        ? encodeName(page.lastItem, encode)
        : undefined,
    Delimiter: delimiter ? encodeName(delimiter, encode) : undefined,
    MaxKeys: requestedMaxKeys,
    EncodingType: encode ? "url" : undefined,
    IsTruncated: page.isTruncated,
    Contents: contentsOf(page, encode, true),
    CommonPrefixes: page.commonPrefixes.map((name) => ({ Prefix: encodeName(name, encode) })),
  });
}

interface DeleteRequest {
  quiet: boolean;
  keys: string[];
}

function parseDeleteRequest(text: string): DeleteRequest {
  const root = parseXml(text, "Delete");
  const objects = (root.Object ?? []) as Record<string, unknown>[];
  if (objects.length === 0) throw malformedXml("Delete lists no Object elements.");
  if (objects.length > MAX_KEYS) throw malformedXml(`Delete lists more than ${MAX_KEYS} objects.`);
  const keys = objects.map((object) => {
    if (typeof object?.Key !== "string") throw malformedXml("every Object needs a Key.");
    return object.Key;
  });
  return { quiet: String(root.Quiet ?? "false").trim() === "true", keys };
}

/**
 * DeleteObjects: deletes up to 1000 keys. S3 requires Content-MD5 or an
 * additional checksum on this request. In quiet mode only errors are listed.
 */
export async function deleteObjects(context: S3Context): Promise<void> {
  context.store.requireBucket(context.bucket);
  if (!hasIntegrityHeader(context.request)) {
    throw invalidRequest(
      "Missing required header for this request: Content-MD5 or x-amz-checksum-*",
    );
  }
  const request = parseDeleteRequest(await readDocument(context.request));

  const deleted: XmlValue[] = [];
  const errors: XmlValue[] = [];
  for (const key of request.keys) {
    try {
      assertValidKey(key);
      await context.store.deleteObject(context.bucket, key);
      if (!request.quiet) deleted.push({ Key: key });
    } catch (error) {
      const s3Error = error instanceof S3Error ? error : undefined;
      errors.push({
        Key: key,
        Code: s3Error?.name ?? "InternalError",
        Message: s3Error?.message ?? "We encountered an internal error. Please try again.",
      });
    }
  }
  sendXml(context, "DeleteResult", { Deleted: deleted, Error: errors });
}
