import type { FastifyReply, FastifyRequest } from "fastify";
import { checksumHeaderName } from "./checksums.ts";
import { invalidArgument, S3Error } from "./errors.ts";
import type { ObjectStore } from "./object-store.ts";
import {
  type ObjectAttributes,
  type ObjectMetadata,
  STORED_HEADERS,
  type StoredHeader,
} from "./object-types.ts";
import { renderXml, type XmlValue } from "./xml.ts";

/** One S3 request, parsed from its path-style URL. */
export interface S3Context {
  request: FastifyRequest;
  reply: FastifyReply;
  store: ObjectStore;
  /** Empty for service-level requests (ListBuckets). */
  bucket: string;
  /** Empty for bucket-level requests. */
  key: string;
  query: URLSearchParams;
  requestId: string;
}

/** The single owner the simulator reports; every access key maps to it. */
export const OWNER = {
  ID: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a",
  DisplayName: "warmstate",
};

/**
 * Largest total size of user metadata (names and values of `x-amz-meta-*`).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html
 */
export const MAX_USER_METADATA_BYTES = 2 * 1024;

/** Returns a header as one string, joining repeated headers with commas. */
export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** Sends a 200 response with an XML document. */
export function sendXml(
  context: S3Context,
  rootName: string,
  content: Record<string, XmlValue>,
): void {
  context.reply
    .status(200)
    .header("content-type", "application/xml")
    .send(renderXml(rootName, content));
}

/**
 * Reads the content type, `x-amz-meta-*` metadata and stored standard
 * headers of a write request. `aws-chunked` is a transfer detail, not part of
 * the object's Content-Encoding.
 */
export function attributesFromRequest(request: FastifyRequest): ObjectAttributes {
  const userMetadata: Record<string, string> = {};
  let metadataBytes = 0;
  for (const [name, value] of Object.entries(request.headers)) {
    if (!name.startsWith("x-amz-meta-") || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(",") : value;
    const shortName = name.slice("x-amz-meta-".length);
    userMetadata[shortName] = text;
    metadataBytes += Buffer.byteLength(shortName) + Buffer.byteLength(text);
  }
  if (metadataBytes > MAX_USER_METADATA_BYTES) {
    throw new S3Error(
      "MetadataTooLarge",
      400,
      `Your metadata headers exceed the maximum allowed metadata size of ${MAX_USER_METADATA_BYTES} bytes.`,
      { Size: String(metadataBytes), MaxSizeAllowed: String(MAX_USER_METADATA_BYTES) },
    );
  }

  const headers: Partial<Record<StoredHeader, string>> = {};
  for (const name of STORED_HEADERS) {
    let value = header(request, name);
    if (name === "content-encoding" && value !== undefined) {
      value = value
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "" && item !== "aws-chunked")
        .join(",");
    }
    if (value) headers[name] = value;
  }

  // S3 stores binary/octet-stream when a PUT has no Content-Type.
  const contentType = header(request, "content-type") || "binary/octet-stream";
  return { contentType, userMetadata, headers };
}

/** Sets the headers that GET and HEAD return for an object. */
export function setObjectHeaders(context: S3Context, metadata: ObjectMetadata): void {
  const { reply, query } = context;
  reply.header("etag", metadata.etag);
  reply.header("last-modified", new Date(metadata.lastModified).toUTCString());
  reply.header("accept-ranges", "bytes");
  reply.header("content-type", query.get("response-content-type") ?? metadata.contentType);
  for (const [name, value] of Object.entries(metadata.headers)) reply.header(name, value);
  for (const [name, value] of Object.entries(metadata.userMetadata))
    reply.header(`x-amz-meta-${name}`, value);

  // Response header overrides of GetObject's response-* query parameters.
  for (const name of STORED_HEADERS) {
    const override = query.get(`response-${name}`);
    if (override !== null) reply.header(name, override);
  }
}

/** Sets the `x-amz-checksum-*` and `x-amz-checksum-type` headers of a stored checksum. */
export function setChecksumHeaders(
  reply: FastifyReply,
  checksum: ObjectMetadata["checksum"],
): void {
  if (!checksum) return;
  reply.header(checksumHeaderName(checksum.algorithm), checksum.value);
  reply.header("x-amz-checksum-type", checksum.type);
}

/** Checksum elements of XML results, named like `ChecksumCRC32`. */
export function checksumElements(checksum: ObjectMetadata["checksum"]): Record<string, XmlValue> {
  if (!checksum) return {};
  return { [`Checksum${checksum.algorithm}`]: checksum.value, ChecksumType: checksum.type };
}

/** Parses a non-negative integer query parameter, with a default and an upper cap. */
export function integerParameter(
  query: URLSearchParams,
  name: string,
  fallback: number,
  cap: number,
): number {
  const text = query.get(name);
  if (text === null || text === "") return fallback;
  if (!/^\d+$/.test(text)) {
    throw invalidArgument(`Provided ${name} is not an integer or within integer range`, name, text);
  }
  return Math.min(Number(text), cap);
}
