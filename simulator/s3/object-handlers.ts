import { invalidArgument, invalidRange, preconditionFailed } from "./errors.ts";
import type { ObjectMetadata } from "./object-types.ts";
import {
  type ByteRange,
  evaluateReadConditions,
  parseRange,
  partRange,
  type ReadConditions,
} from "./read-conditions.ts";
import { requestPayload } from "./request-body.ts";
import {
  attributesFromRequest,
  checksumElements,
  header,
  type S3Context,
  sendXml,
  setChecksumHeaders,
  setObjectHeaders,
} from "./s3-context.ts";

// Size of the reads that stream an object to the client.
const READ_CHUNK_BYTES = 512 * 1024;

function readConditions(context: S3Context, prefix = ""): ReadConditions {
  return {
    ifMatch: header(context.request, `${prefix}if-match`),
    ifNoneMatch: header(context.request, `${prefix}if-none-match`),
    ifModifiedSince: header(context.request, `${prefix}if-modified-since`),
    ifUnmodifiedSince: header(context.request, `${prefix}if-unmodified-since`),
  };
}

/** Sends 304 Not Modified with the validators S3 includes. */
function sendNotModified(context: S3Context, metadata: ObjectMetadata): void {
  context.reply
    .status(304)
    .header("etag", metadata.etag)
    .header("last-modified", new Date(metadata.lastModified).toUTCString())
    .send();
}

/**
 * Works out which bytes a GET or HEAD returns: a part (partNumber), a Range,
 * or the whole object (undefined).
 */
function selectedRange(context: S3Context, metadata: ObjectMetadata): ByteRange | undefined {
  const partNumberText = context.query.get("partNumber");
  if (partNumberText !== null) {
    const partNumber = Number(partNumberText);
    if (!/^\d+$/.test(partNumberText) || partNumber < 1 || partNumber > 10_000) {
      throw invalidArgument(
        "Part number must be an integer between 1 and 10000, inclusive",
        "partNumber",
        partNumberText,
      );
    }
    const range = partRange(metadata, partNumber);
    if (!range) throw invalidRange(metadata.size, `part ${partNumber}`);
    context.reply.header("x-amz-mp-parts-count", String(metadata.partsCount ?? 1));
    return range;
  }
  return parseRange(header(context.request, "range"), metadata.size);
}

/** GetObject: streams the object or a range of it from disk. */
export async function getObject(context: S3Context): Promise<void> {
  const { metadata, handle } = await context.store.openObject(context.bucket, context.key);
  let range: ByteRange | undefined;
  try {
    if (evaluateReadConditions(readConditions(context), metadata) === "not-modified") {
      await handle.close();
      sendNotModified(context, metadata);
      return;
    }
    range = selectedRange(context, metadata);
  } catch (error) {
    await handle.close();
    throw error;
  }

  setObjectHeaders(context, metadata);
  if (range) {
    context.reply
      .status(206)
      .header("content-range", `bytes ${range.start}-${range.end}/${metadata.size}`)
      .header("content-length", String(range.end - range.start + 1));
  } else {
    context.reply.status(200).header("content-length", String(metadata.size));
    // Only a whole-object read can be checked against the stored checksum.
    if (header(context.request, "x-amz-checksum-mode")?.toUpperCase() === "ENABLED") {
      setChecksumHeaders(context.reply, metadata.checksum);
    }
  }

  if (metadata.size === 0) {
    await handle.close();
    context.reply.send("");
    return;
  }
  const stream = handle.createReadStream({
    start: range?.start ?? 0,
    end: range?.end ?? metadata.size - 1,
    highWaterMark: READ_CHUNK_BYTES,
  });
  context.reply.send(stream);
}

/** HeadObject: the headers of GetObject without the body. */
export async function headObject(context: S3Context): Promise<void> {
  const metadata = context.store.headObject(context.bucket, context.key);
  if (evaluateReadConditions(readConditions(context), metadata) === "not-modified") {
    sendNotModified(context, metadata);
    return;
  }
  const range = selectedRange(context, metadata);

  setObjectHeaders(context, metadata);
  if (range) {
    context.reply
      .status(206)
      .header("content-range", `bytes ${range.start}-${range.end}/${metadata.size}`)
      .header("content-length", String(range.end - range.start + 1));
  } else {
    context.reply.status(200).header("content-length", String(metadata.size));
    if (header(context.request, "x-amz-checksum-mode")?.toUpperCase() === "ENABLED") {
      setChecksumHeaders(context.reply, metadata.checksum);
    }
  }
  context.reply.send();
}

/** PutObject: streams the body to disk and commits it atomically. */
export async function putObject(context: S3Context): Promise<void> {
  const attributes = attributesFromRequest(context.request);
  const { body, integrity } = requestPayload(context.request);
  const metadata = await context.store.putObject(context.bucket, context.key, body, {
    attributes,
    integrity,
    condition: {
      ifMatch: header(context.request, "if-match"),
      ifNoneMatch: header(context.request, "if-none-match"),
    },
  });

  context.reply.header("etag", metadata.etag);
  setChecksumHeaders(context.reply, metadata.checksum);
  context.reply.status(200).send();
}

/**
 * Parses `x-amz-copy-source`: `bucket/key` or `/bucket/key`, URL-encoded,
 * optionally followed by `?versionId=`.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
 */
export function parseCopySource(value: string): { bucket: string; key: string } {
  const withoutVersion = value.split("?")[0];
  let decoded: string;
  try {
    decoded = decodeURIComponent(withoutVersion.replace(/^\//, ""));
  } catch {
    throw invalidArgument("Invalid copy source encoding", "x-amz-copy-source", value);
  }
  const slash = decoded.indexOf("/");
  if (slash <= 0 || slash === decoded.length - 1) {
    throw invalidArgument(
      "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
      "x-amz-copy-source",
      value,
    );
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

/**
 * Checks the `x-amz-copy-source-if-*` headers against the source object.
 * Every failed copy-source condition is 412, the If-None-Match and
 * If-Modified-Since ones included.
 */
export function checkCopySourceConditions(
  context: S3Context,
  source: { bucket: string; key: string },
): void {
  const sourceMetadata = context.store.headObject(source.bucket, source.key);
  const outcome = evaluateReadConditions(
    readConditions(context, "x-amz-copy-source-"),
    sourceMetadata,
  );
  if (outcome === "not-modified") {
    throw preconditionFailed(
      "x-amz-copy-source-If-None-Match or x-amz-copy-source-If-Modified-Since",
    );
  }
}

/** CopyObject: copies a source object, keeping or replacing its metadata. */
export async function copyObject(context: S3Context, copySource: string): Promise<void> {
  const source = parseCopySource(copySource);
  const directive = (header(context.request, "x-amz-metadata-directive") ?? "COPY").toUpperCase();
  if (directive !== "COPY" && directive !== "REPLACE") {
    throw invalidArgument("Unknown metadata directive.", "x-amz-metadata-directive", directive);
  }

  checkCopySourceConditions(context, source);

  const attributes = directive === "REPLACE" ? attributesFromRequest(context.request) : undefined;
  const metadata = await context.store.copyObject(
    source,
    { bucket: context.bucket, key: context.key },
    attributes,
  );
  sendXml(context, "CopyObjectResult", {
    ETag: metadata.etag,
    LastModified: metadata.lastModified,
    ...checksumElements(metadata.checksum),
  });
}

/** DeleteObject: 204 whether or not the key existed, as on an unversioned bucket. */
export async function deleteObject(context: S3Context): Promise<void> {
  await context.store.deleteObject(context.bucket, context.key);
  context.reply.status(204).send();
}

/** Rejects object subresources the simulator does not implement. */
export function unsupportedObjectSubresource(context: S3Context): string | undefined {
  for (const name of [
    "acl",
    "tagging",
    "retention",
    "legal-hold",
    "torrent",
    "restore",
    "select",
    "attributes",
  ]) {
    if (context.query.has(name)) return name;
  }
  return undefined;
}
