import { invalidRange, preconditionFailed } from "./errors.ts";
import type { ObjectMetadata } from "./object-types.ts";

/** The conditional headers of a read, or of the copy source of a copy. */
export interface ReadConditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

function parseHttpDate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : time;
}

/**
 * Evaluates conditional headers in RFC 7232 order, as S3 does. A failed
 * If-Match is 412 PreconditionFailed, and so is a failed
 * If-Unmodified-Since without If-Match. A matching If-None-Match is 304 Not
 * Modified, and so is an unmet If-Modified-Since without If-None-Match.
 * So If-Match true with If-Unmodified-Since false returns the object, and
 * If-None-Match false with If-Modified-Since true returns 304.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
 *
 * Returns "not-modified" for a 304 and throws PreconditionFailed for a 412.
 */
export function evaluateReadConditions(
  conditions: ReadConditions,
  metadata: ObjectMetadata,
): "ok" | "not-modified" {
  // HTTP dates have whole seconds, so compare at that precision.
  const lastModified = Math.floor(Date.parse(metadata.lastModified) / 1000) * 1000;

  if (conditions.ifMatch !== undefined) {
    if (!etagMatches(conditions.ifMatch, metadata.etag)) throw preconditionFailed("If-Match");
  } else {
    const since = parseHttpDate(conditions.ifUnmodifiedSince);
    if (since !== undefined && lastModified > since)
      throw preconditionFailed("If-Unmodified-Since");
  }

  if (conditions.ifNoneMatch !== undefined) {
    if (etagMatches(conditions.ifNoneMatch, metadata.etag)) return "not-modified";
  } else {
    const since = parseHttpDate(conditions.ifModifiedSince);
    if (since !== undefined && lastModified <= since) return "not-modified";
  }
  return "ok";
}

/**
 * Parses a single `bytes=` range against an object size: `a-b`, the open
 * range `a-` and the suffix range `-n`. A range that starts at or past the
 * end is 416 InvalidRange, and so is any range of an empty object. A header
 * that is not one valid range is ignored, so the whole object is returned,
 * as S3 does.
 * https://www.rfc-editor.org/rfc/rfc9110#section-14.1.2
 */
export function parseRange(text: string | undefined, size: number): ByteRange | undefined {
  if (text === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(text.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;

  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw invalidRange(size, text);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }

  const start = Number(match[1]);
  const requestedEnd = match[2] === "" ? undefined : Number(match[2]);
  if (requestedEnd !== undefined && requestedEnd < start) return undefined;
  if (start >= size) throw invalidRange(size, text);
  return { start, end: Math.min(requestedEnd ?? size - 1, size - 1) };
}

/** Returns the byte range of one part of a multipart object (GetObject's partNumber). */
export function partRange(metadata: ObjectMetadata, partNumber: number): ByteRange | undefined {
  const sizes = metadata.partSizes ?? [metadata.size];
  if (partNumber < 1 || partNumber > sizes.length) return undefined;
  const start = sizes.slice(0, partNumber - 1).reduce((total, size) => total + size, 0);
  return { start, end: start + sizes[partNumber - 1] - 1 };
}

/** Compares an If-Match or If-None-Match value (a list, `*`, quoted or not) with an ETag. */
export function etagMatches(condition: string, etag: string): boolean {
  const bare = etag.replace(/^"|"$/g, "");
  return condition
    .split(",")
    .map((item) => item.trim().replace(/^W\//, "").replace(/^"|"$/g, ""))
    .some((item) => item === "*" || item === bare);
}
