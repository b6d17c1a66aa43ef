import { createHash } from "node:crypto";
import { pipeline, type Readable } from "node:stream";
import type { FastifyRequest } from "fastify";
import { AwsChunkedDecoder } from "./aws-chunked.ts";
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  checksumHeaderName,
  digestOf,
  parseChecksumAlgorithm,
} from "./checksums.ts";
import type { BodyIntegrity } from "./durable-files.ts";
import { badDigest, incompleteBody, invalidDigest, invalidRequest, S3Error } from "./errors.ts";

/** A request body as a stream of payload bytes, with what the client declared about it. */
export interface RequestPayload {
  body: Readable;
  integrity: BodyIntegrity;
}

// Buffered request documents (DeleteObjects, CompleteMultipartUpload) larger
// than this are rejected; 10,000 parts with checksums stay well below it.
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/**
 * Returns the payload of a streaming upload. The SDK sends stream bodies in
 * the `aws-chunked` encoding, with `x-amz-content-sha256:
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER` and the checksum in a trailer. Such a
 * body is decoded on the fly, and its size is checked against
 * `x-amz-decoded-content-length`.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
export function requestPayload(request: FastifyRequest): RequestPayload {
  const raw = request.raw;
  const contentEncoding = header(request, "content-encoding") ?? "";
  const contentSha256 = header(request, "x-amz-content-sha256") ?? "";
  const chunked =
    contentEncoding.split(",").some((item) => item.trim() === "aws-chunked") ||
    contentSha256.startsWith("STREAMING-");

  let body: Readable = raw;
  let trailers: Record<string, string> = {};
  if (chunked) {
    const decoder = new AwsChunkedDecoder();
    trailers = decoder.trailers;
    // Errors of the request (an aborted upload) reach the decoder and so the reader.
    body = pipeline(raw, decoder, () => {});
  }

  const sizeHeader = chunked
    ? header(request, "x-amz-decoded-content-length")
    : header(request, "content-length");
  const expectedSize =
    sizeHeader !== undefined && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : undefined;
  if (chunked && expectedSize === undefined) {
    throw new S3Error(
      "MissingContentLength",
      411,
      "You must provide the x-amz-decoded-content-length HTTP header with an aws-chunked body.",
    );
  }

  // TODO(s3): a hex x-amz-content-sha256 is not verified; S3 rejects a mismatch with XAmzContentSHA256Mismatch.
  const { algorithm, expectedChecksum } = declaredChecksum(request, trailers);
  return {
    body,
    integrity: {
      contentMd5: header(request, "content-md5"),
      checksumAlgorithm: algorithm,
      expectedChecksum,
      expectedSize,
    },
  };
}

/**
 * Finds the additional checksum a request declares: an `x-amz-checksum-*`
 * header, a trailer named by `x-amz-trailer`, or only an algorithm in
 * `x-amz-sdk-checksum-algorithm`.
 */
function declaredChecksum(
  request: FastifyRequest,
  trailers: Record<string, string>,
): { algorithm?: ChecksumAlgorithm; expectedChecksum?: () => string | undefined } {
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = header(request, checksumHeaderName(algorithm));
    if (value !== undefined) return { algorithm, expectedChecksum: () => value };
  }

  const trailerName = header(request, "x-amz-trailer")?.trim().toLowerCase();
  if (trailerName) {
    const algorithm = parseChecksumAlgorithm(trailerName.replace(/^x-amz-checksum-/, ""));
    if (!algorithm || !trailerName.startsWith("x-amz-checksum-")) {
      throw invalidRequest(
        `The trailer "${trailerName}" named in x-amz-trailer is not a supported checksum.`,
      );
    }
    return {
      algorithm,
      expectedChecksum: () => {
        const value = trailers[trailerName];
        if (value === undefined) {
          throw incompleteBody(
            `The body ended without the ${trailerName} trailer that x-amz-trailer declared.`,
          );
        }
        return value;
      },
    };
  }

  const sdkAlgorithm = header(request, "x-amz-sdk-checksum-algorithm");
  return { algorithm: parseChecksumAlgorithm(sdkAlgorithm) };
}

/** Reports whether a request carries Content-MD5 or an additional checksum. */
export function hasIntegrityHeader(request: FastifyRequest): boolean {
  if (
    header(request, "content-md5") !== undefined ||
    header(request, "x-amz-trailer") !== undefined
  )
    return true;
  return CHECKSUM_ALGORITHMS.some(
    (algorithm) => header(request, checksumHeaderName(algorithm)) !== undefined,
  );
}

/**
 * Reads a small request document into memory and checks its Content-MD5.
 * Its `x-amz-checksum-*` header is checked too, unless `checksumHeaders` is
 * "object" because the operation uses that header for the object's
 * checksum, as CompleteMultipartUpload does.
 */
export async function readDocument(
  request: FastifyRequest,
  checksumHeaders: "document" | "object" = "document",
): Promise<string> {
  const { body, integrity } = requestPayload(request);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DOCUMENT_BYTES) {
      throw new S3Error(
        "MaxMessageLengthExceeded",
        400,
        `Your request was too big: request documents are limited to ${MAX_DOCUMENT_BYTES} bytes.`,
      );
    }
    chunks.push(chunk);
  }
  const document = Buffer.concat(chunks);

  if (integrity.contentMd5 !== undefined) {
    const declared = Buffer.from(integrity.contentMd5, "base64");
    if (declared.length !== 16) throw invalidDigest("Content-MD5", integrity.contentMd5);
    if (!declared.equals(createHash("md5").update(document).digest()))
      throw badDigest("Content-MD5");
  }
  const expected = checksumHeaders === "document" ? integrity.expectedChecksum?.() : undefined;
  if (integrity.checksumAlgorithm && expected !== undefined) {
    if (digestOf(integrity.checksumAlgorithm, document).toString("base64") !== expected) {
      throw badDigest(integrity.checksumAlgorithm);
    }
  }
  return document.toString("utf8");
}
