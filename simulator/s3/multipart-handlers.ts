import { checksumHeaderName, parseChecksumAlgorithm } from "./checksums.ts";
import { invalidArgument, malformedXml } from "./errors.ts";
import { checkCopySourceConditions, parseCopySource } from "./object-handlers.ts";
import type { ChecksumType, CompletedPart } from "./object-types.ts";
import { readDocument, requestPayload } from "./request-body.ts";
import {
  attributesFromRequest,
  checksumElements,
  header,
  integerParameter,
  OWNER,
  type S3Context,
  sendXml,
} from "./s3-context.ts";
import { parseXml } from "./xml.ts";

// Default page size of ListParts and ListMultipartUploads.
const MAX_LISTED = 1000;

/**
 * CreateMultipartUpload. With `x-amz-checksum-algorithm`, every part is
 * checksummed and the object gets a COMPOSITE checksum unless
 * `x-amz-checksum-type: FULL_OBJECT` requests one over the whole body
 * (CRC64NVME defaults to FULL_OBJECT).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html
 */
export async function createMultipartUpload(context: S3Context): Promise<void> {
  const algorithmText = header(context.request, "x-amz-checksum-algorithm");
  const algorithm = parseChecksumAlgorithm(algorithmText);
  if (algorithmText !== undefined && !algorithm) {
    throw invalidArgument(
      "Checksum algorithm provided is unsupported.",
      "x-amz-checksum-algorithm",
      algorithmText,
    );
  }
  const typeText = header(context.request, "x-amz-checksum-type")?.toUpperCase();
  if (typeText !== undefined && typeText !== "COMPOSITE" && typeText !== "FULL_OBJECT") {
    throw invalidArgument(
      "Checksum type provided is unsupported.",
      "x-amz-checksum-type",
      typeText,
    );
  }
  const type: ChecksumType =
    (typeText as ChecksumType | undefined) ??
    (algorithm === "CRC64NVME" ? "FULL_OBJECT" : "COMPOSITE");

  const upload = await context.store.createMultipartUpload(
    context.bucket,
    context.key,
    attributesFromRequest(context.request),
    algorithm ? { algorithm, type } : undefined,
  );
  if (algorithm) {
    context.reply.header("x-amz-checksum-algorithm", algorithm).header("x-amz-checksum-type", type);
  }
  sendXml(context, "InitiateMultipartUploadResult", {
    Bucket: context.bucket,
    Key: context.key,
    UploadId: upload.uploadId,
  });
}

/** UploadPart: streams one part to disk and returns its ETag and checksum. */
export async function uploadPart(
  context: S3Context,
  uploadId: string,
  partNumberText: string,
): Promise<void> {
  if (!/^\d+$/.test(partNumberText)) {
    throw invalidArgument(
      "Part number must be an integer between 1 and 10000, inclusive",
      "partNumber",
      partNumberText,
    );
  }
  const { body, integrity } = requestPayload(context.request);
  const part = await context.store.uploadPart(
    context.bucket,
    context.key,
    uploadId,
    Number(partNumberText),
    body,
    integrity,
  );

  const upload = context.store.getMultipartUpload(context.bucket, context.key, uploadId);
  const algorithm = integrity.checksumAlgorithm ?? upload.checksumAlgorithm;
  context.reply.header("etag", part.etag);
  if (algorithm && part.checksum)
    context.reply.header(checksumHeaderName(algorithm), part.checksum);
  context.reply.status(200).send();
}

/**
 * UploadPartCopy: copies a source object, or the inclusive byte range of
 * `x-amz-copy-source-range: bytes=first-last`, into a part.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html
 */
export async function uploadPartCopy(
  context: S3Context,
  uploadId: string,
  partNumberText: string,
  copySource: string,
): Promise<void> {
  if (!/^\d+$/.test(partNumberText)) {
    throw invalidArgument(
      "Part number must be an integer between 1 and 10000, inclusive",
      "partNumber",
      partNumberText,
    );
  }
  const source = parseCopySource(copySource);
  checkCopySourceConditions(context, source);

  const rangeText = header(context.request, "x-amz-copy-source-range");
  let range: { start: number; end: number } | undefined;
  if (rangeText !== undefined) {
    const match = /^bytes=(\d+)-(\d+)$/.exec(rangeText.trim());
    if (!match || Number(match[2]) < Number(match[1])) {
      throw invalidArgument(
        "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
        "x-amz-copy-source-range",
        rangeText,
      );
    }
    range = { start: Number(match[1]), end: Number(match[2]) };
  }

  const part = await context.store.uploadPartCopy(
    source,
    { bucket: context.bucket, key: context.key },
    uploadId,
    Number(partNumberText),
    range,
  );
  const upload = context.store.getMultipartUpload(context.bucket, context.key, uploadId);
  sendXml(context, "CopyPartResult", {
    ETag: part.etag,
    LastModified: part.lastModified,
    ...(upload.checksumAlgorithm && part.checksum
      ? { [`Checksum${upload.checksumAlgorithm}`]: part.checksum }
      : {}),
  });
}

function parseCompletedParts(text: string): CompletedPart[] {
  const root = parseXml(text, "CompleteMultipartUpload");
  const parts = (root.Part ?? []) as Record<string, unknown>[];
  return parts.map((part) => {
    const numberText = String(part?.PartNumber ?? "").trim();
    if (!/^\d+$/.test(numberText))
      throw malformedXml(`PartNumber "${numberText}" is not an integer.`);
    if (typeof part.ETag !== "string") throw malformedXml(`part ${numberText} has no ETag.`);
    const checksumName = Object.keys(part).find(
      (name) => name.startsWith("Checksum") && name !== "ChecksumType",
    );
    return {
      partNumber: Number(numberText),
      etag: part.ETag.trim(),
      checksum: checksumName ? String(part[checksumName]).trim() : undefined,
    };
  });
}

/** CompleteMultipartUpload: validates the listed parts and assembles the object. */
export async function completeMultipartUpload(context: S3Context, uploadId: string): Promise<void> {
  const parts = parseCompletedParts(await readDocument(context.request, "object"));
  const upload = context.store.getMultipartUpload(context.bucket, context.key, uploadId);
  const expectedChecksum = upload.checksumAlgorithm
    ? header(context.request, checksumHeaderName(upload.checksumAlgorithm))
    : undefined;
  const metadata = await context.store.completeMultipartUpload(
    context.bucket,
    context.key,
    uploadId,
    parts,
    expectedChecksum,
  );

  const host = header(context.request, "host") ?? "127.0.0.1";
  const encodedKey = context.key.split("/").map(encodeURIComponent).join("/");
  sendXml(context, "CompleteMultipartUploadResult", {
    Location: `http://${host}/${context.bucket}/${encodedKey}`,
    Bucket: context.bucket,
    Key: context.key,
    ETag: metadata.etag,
    ...checksumElements(metadata.checksum),
  });
}

export async function abortMultipartUpload(context: S3Context, uploadId: string): Promise<void> {
  await context.store.abortMultipartUpload(context.bucket, context.key, uploadId);
  context.reply.status(204).send();
}

/** ListParts, paginated by part-number-marker and max-parts. */
export function listParts(context: S3Context, uploadId: string): void {
  const upload = context.store.getMultipartUpload(context.bucket, context.key, uploadId);
  const marker = integerParameter(context.query, "part-number-marker", 0, Number.MAX_SAFE_INTEGER);
  const maxParts = integerParameter(context.query, "max-parts", MAX_LISTED, MAX_LISTED);
  const remaining = context.store
    .listParts(context.bucket, context.key, uploadId)
    .filter((part) => part.partNumber > marker);
  const page = remaining.slice(0, maxParts);
  const isTruncated = remaining.length > page.length;

  sendXml(context, "ListPartsResult", {
    Bucket: context.bucket,
    Key: context.key,
    UploadId: uploadId,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.length > 0 ? page[page.length - 1].partNumber : marker,
    MaxParts: maxParts,
    IsTruncated: isTruncated,
    Part: page.map((part) => ({
      PartNumber: part.partNumber,
      LastModified: part.lastModified,
      ETag: part.etag,
      Size: part.size,
      ...(upload.checksumAlgorithm && part.checksum
        ? { [`Checksum${upload.checksumAlgorithm}`]: part.checksum }
        : {}),
    })),
    Initiator: OWNER,
    Owner: OWNER,
    StorageClass: "STANDARD",
    ChecksumAlgorithm: upload.checksumAlgorithm,
    ChecksumType: upload.checksumType,
  });
}

/**
 * ListMultipartUploads, filtered by prefix and paginated by key-marker and
 * upload-id-marker.
 * TODO(s3): the delimiter parameter is ignored; S3 rolls keys up into CommonPrefixes as in ListObjectsV2.
 */
export function listMultipartUploads(context: S3Context): void {
  const { query } = context;
  const prefix = query.get("prefix") ?? "";
  const keyMarker = query.get("key-marker") ?? "";
  const uploadIdMarker = query.get("upload-id-marker") ?? "";
  const maxUploads = integerParameter(query, "max-uploads", MAX_LISTED, MAX_LISTED);

  const remaining = context.store.listMultipartUploads(context.bucket).filter((upload) => {
    if (!upload.key.startsWith(prefix)) return false;
    if (!keyMarker) return true;
    const order = Buffer.compare(Buffer.from(upload.key), Buffer.from(keyMarker));
    return order > 0 || (order === 0 && uploadIdMarker !== "" && upload.uploadId > uploadIdMarker);
  });
  const page = remaining.slice(0, maxUploads);
  const last = page[page.length - 1];
  const isTruncated = remaining.length > page.length;

  sendXml(context, "ListMultipartUploadsResult", {
    Bucket: context.bucket,
    KeyMarker: keyMarker,
    UploadIdMarker: uploadIdMarker,
    NextKeyMarker: isTruncated ? last?.key : undefined,
    NextUploadIdMarker: isTruncated ? last?.uploadId : undefined,
    Prefix: prefix,
    MaxUploads: maxUploads,
    IsTruncated: isTruncated,
    Upload: page.map((upload) => ({
      Key: upload.key,
      UploadId: upload.uploadId,
      Initiator: OWNER,
      Owner: OWNER,
      StorageClass: "STANDARD",
      Initiated: upload.initiated,
      ChecksumAlgorithm: upload.checksumAlgorithm,
      ChecksumType: upload.checksumType,
    })),
  });
}
