/**
 * pdf-summarize: the last step of the pdf-batch pipeline. Handler
 * `index.handler`, Node.js 20 or later. It has two actions:
 *
 * "document" (the default) collects the analysis objects pdf-analyze wrote
 * for one document, writes a summary object and returns a small result:
 *   Event:  { bucket, sourceKey, docId, pagesPrefix, pageCount }  (pdf-split's result)
 *   Result: { status: "succeeded", bucket, sourceKey, docId, pageCount, blankPageCount,
 *             meanInkCoverage, summaryKey }
 *
 * "report" turns the per-document results of a batch into the execution output:
 *   Event:  { action: "report", documents: [{ status, sourceKey, ... } | { status: "failed", key, error, cause }] }
 *   Result: { documentCount, succeededCount, failedCount,
 *             succeeded: [{ key, summaryKey, pageCount, blankPageCount }], failed: [{ key, error, cause }] }
 *
 * Environment:
 *   ANALYSIS_PREFIX      key prefix pdf-analyze writes under (default "analysis")
 *   SUMMARY_PREFIX       key prefix of summary objects (default "summaries")
 *   S3_FORCE_PATH_STYLE  "false" turns path-style S3 addressing off (default on)
 */
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";

const s3 = new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE !== "false" });
const READ_CONCURRENCY = 16;

/** Some pages of a document have no analysis object, so its summary would be wrong. */
export class IncompleteAnalysisError extends Error {
  constructor(message) {
    super(message);
    this.name = "IncompleteAnalysisError";
  }
}

/** The event is missing a field or has one of the wrong type. */
export class InvalidEventError extends Error {
  constructor(message) {
    super(message);
    this.name = "InvalidEventError";
  }
}

async function listKeys(bucket, prefix) {
  const keys = [];
  let token;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function readJson(bucket, key) {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await response.Body.transformToString());
}

async function readAll(bucket, keys) {
  const results = new Array(keys.length);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const index = next++;
      results[index] = await readJson(bucket, keys[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, keys.length) }, worker));
  return results;
}

async function summarizeDocument(event) {
  const { bucket, sourceKey, docId, pagesPrefix, pageCount } = event;
  for (const [name, value] of Object.entries({ bucket, sourceKey, docId, pagesPrefix })) {
    if (typeof value !== "string" || value === "") {
      throw new InvalidEventError(
        `The event needs a non-empty string "${name}" (pdf-split's result), got ${JSON.stringify(value)}.`,
      );
    }
  }
  if (!Number.isInteger(pageCount) || pageCount < 1) {
    throw new InvalidEventError(
      `The event needs a positive integer "pageCount", got ${JSON.stringify(pageCount)}.`,
    );
  }

  const analysisPrefix = `${process.env.ANALYSIS_PREFIX ?? "analysis"}/${pagesPrefix}`;
  const keys = (await listKeys(bucket, analysisPrefix)).filter((key) =>
    /page-\d+\.json$/.test(key),
  );
  const pages = (await readAll(bucket, keys)).sort((a, b) => a.pageNumber - b.pageNumber);

  const seen = new Set(pages.map((page) => page.pageNumber));
  const missing = [];
  for (let pageNumber = 1; pageNumber <= pageCount; pageNumber++) {
    if (!seen.has(pageNumber)) missing.push(pageNumber);
  }
  if (missing.length > 0) {
    throw new IncompleteAnalysisError(
      `${missing.length} of ${pageCount} pages of ${sourceKey} have no analysis under ${analysisPrefix} ` +
        `(first missing: page ${missing[0]}): run pdf-analyze on them again.`,
    );
  }

  const blankPages = pages.filter((page) => page.blank).map((page) => page.pageNumber);
  const meanInkCoverage = pages.reduce((sum, page) => sum + page.inkCoverage, 0) / pages.length;
  const summaryKey = `${process.env.SUMMARY_PREFIX ?? "summaries"}/${docId}.json`;
  const summary = {
    sourceKey,
    docId,
    pageCount,
    blankPages,
    meanInkCoverage,
    pages: pages.map(({ pageNumber, width, height, inkCoverage, blank, thumbnailKey }) => ({
      pageNumber,
      width,
      height,
      inkCoverage,
      blank,
      thumbnailKey,
    })),
  };
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: summaryKey,
      Body: JSON.stringify(summary),
      ContentType: "application/json",
    }),
  );

  return {
    status: "succeeded",
    bucket,
    sourceKey,
    docId,
    pageCount,
    blankPageCount: blankPages.length,
    meanInkCoverage,
    summaryKey,
  };
}

// Lambda error causes are JSON with errorType, errorMessage and a stack
// trace; the report keeps the message only, so it stays small.
const MAX_CAUSE_LENGTH = 1000;

function shortCause(cause) {
  if (typeof cause !== "string") return cause;
  let message = cause;
  try {
    const parsed = JSON.parse(cause);
    if (typeof parsed?.errorMessage === "string") message = parsed.errorMessage;
  } catch {
    // Not JSON: a Step Functions cause such as States.Timeout's is plain text.
  }
  return message.length > MAX_CAUSE_LENGTH ? `${message.slice(0, MAX_CAUSE_LENGTH)}...` : message;
}

function reportBatch(event) {
  if (!Array.isArray(event.documents)) {
    throw new InvalidEventError(
      `The report event needs an array "documents", got ${JSON.stringify(event.documents)}.`,
    );
  }
  const failed = [];
  const succeeded = [];
  for (const document of event.documents) {
    if (document?.status === "succeeded") {
      const { sourceKey, summaryKey, pageCount, blankPageCount } = document;
      succeeded.push({ key: sourceKey, summaryKey, pageCount, blankPageCount });
    } else {
      failed.push({
        key: document?.key,
        error: document?.error ?? "UnknownResult",
        cause: shortCause(document?.cause),
      });
    }
  }
  return {
    documentCount: event.documents.length,
    succeededCount: succeeded.length,
    failedCount: failed.length,
    succeeded,
    failed,
  };
}

/** Lambda handler: summarizes one document, or reports a batch when `action` is "report". */
export async function handler(event) {
  if (event?.action === "report") return reportBatch(event);
  return summarizeDocument(event ?? {});
}
