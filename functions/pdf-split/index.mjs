/**
 * pdf-split: downloads a PDF from S3, splits it into single-page PDFs and
 * uploads each page. Handler `index.handler`, Node.js 20 or later.
 *
 * Event:  { bucket, key, outputPrefix?, alwaysInline? }
 * Result: { bucket, sourceKey, docId, pagesPrefix, pageCount, pages: [{ bucket, key, pageNumber }] }
 *         or, when that would not fit in a Step Functions payload,
 *         { bucket, sourceKey, docId, pagesPrefix, pageCount, manifestKey } with the
 *         page list as a JSON array in the manifest object.
 *
 * Environment:
 *   OUTPUT_PREFIX            key prefix of the pages (default "pages"); the event's outputPrefix wins
 *   CLEAN_TMP                "true" removes this invocation's /tmp files when it ends (the fix);
 *                            by default they stay, as in the production bug
 *   INLINE_RESULT_MAX_BYTES  largest result returned inline, in bytes (default 131072)
 *   UPLOAD_CONCURRENCY       page uploads in flight (default 8)
 *   S3_FORCE_PATH_STYLE      "false" turns path-style S3 addressing off (default on)
 *   TMP_DIR                  scratch folder (default /tmp, the only writable path on Lambda)
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { InvalidEventError } from "./errors.mjs";
import { deadlineFromContext, splitPdf } from "./split.mjs";

// Step Functions caps a state's input and output at 256 KiB of UTF-8 text
// (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
// The default keeps half of it for the document item and the other fields
// that travel with the split result through the Map iteration.
const DEFAULT_INLINE_RESULT_MAX_BYTES = 128 * 1024;

// Created once per execution environment, as Lambda's guidance recommends, with
// the default credential and endpoint chain (AWS_ENDPOINT_URL, AWS_REGION).
const s3 = new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE !== "false" });

function readEvent(event) {
  const { bucket, key } = event ?? {};
  if (typeof bucket !== "string" || bucket === "") {
    throw new InvalidEventError(
      `The event needs a non-empty string "bucket", got ${JSON.stringify(bucket)}.`,
    );
  }
  if (typeof key !== "string" || key === "") {
    throw new InvalidEventError(
      `The event needs a non-empty string "key", got ${JSON.stringify(key)}.`,
    );
  }
  const prefix = event.outputPrefix ?? process.env.OUTPUT_PREFIX ?? "pages";
  if (typeof prefix !== "string" || prefix.replace(/\/+$/, "") === "") {
    throw new InvalidEventError(
      `"outputPrefix" must be a non-empty string, got ${JSON.stringify(prefix)}.`,
    );
  }
  const outputPrefix = prefix.replace(/\/+$/, "");
  return { bucket, key, outputPrefix, alwaysInline: event.alwaysInline === true };
}

/** Names a document after its key without the `.pdf` extension, so `in/a.pdf` becomes `in/a`. */
export function documentIdFromKey(key) {
  return key.replace(/\.pdf$/i, "");
}

/** Names a page file: page-0001.pdf, page-0002.pdf, ... */
export function pageFileName(pageNumber) {
  return `page-${String(pageNumber).padStart(4, "0")}.pdf`;
}

async function download(bucket, key) {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await response.Body.transformToByteArray());
}

// Runs page uploads with at most `limit` in flight and keeps the first error.
function createUploadQueue(limit) {
  const inFlight = new Set();
  let failure;
  return {
    async add(task) {
      if (failure) throw failure;
      while (inFlight.size >= limit) await Promise.race(inFlight);
      const running = task()
        .catch((error) => {
          failure ??= error;
        })
        .finally(() => inFlight.delete(running));
      inFlight.add(running);
    },
    async drain() {
      await Promise.all(inFlight);
      if (failure) throw failure;
    },
  };
}

/** Lambda handler: splits s3://bucket/key into one PDF per page. */
export async function handler(event, context) {
  const { bucket, key, outputPrefix, alwaysInline } = readEvent(event);
  const deadline = deadlineFromContext(context);
  const tmpDir = process.env.TMP_DIR ?? "/tmp";
  const docId = documentIdFromKey(key);
  const pagesPrefix = `${outputPrefix}/${docId}/`;

  // As the production function did: the download lands in a file named
  // after the key, and every page is written next to it before its upload.
  const sourcePath = join(tmpDir, key.replaceAll("/", "_"));
  const pageDir = `${sourcePath}.pages`;
  const uploads = createUploadQueue(Number(process.env.UPLOAD_CONCURRENCY ?? 8));
  const pages = [];

  try {
    await writeFile(sourcePath, await download(bucket, key));
    // Not recursive, because /tmp exists. On a full /tmp, replays saw the
    // recursive form fail with ENOENT, which hid the real error, ENOSPC.
    await mkdir(pageDir).catch((error) => {
      if (error.code !== "EEXIST") throw error;
    });

    const { pageCount } = await splitPdf(await readFile(sourcePath), {
      deadline,
      onPage: async (pageNumber, bytes) => {
        const pagePath = join(pageDir, pageFileName(pageNumber));
        await writeFile(pagePath, bytes);
        const pageKey = pagesPrefix + pageFileName(pageNumber);
        await uploads.add(() =>
          s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: pageKey,
              Body: bytes,
              ContentType: "application/pdf",
            }),
          ),
        );
        pages.push({ bucket, key: pageKey, pageNumber });
      },
    });
    await uploads.drain();

    const result = { bucket, sourceKey: key, docId, pagesPrefix, pageCount, pages };
    const limit = Number(process.env.INLINE_RESULT_MAX_BYTES ?? DEFAULT_INLINE_RESULT_MAX_BYTES);
    if (alwaysInline || Buffer.byteLength(JSON.stringify(result)) <= limit) return result;

    const manifestKey = `${pagesPrefix}manifest.json`;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: manifestKey,
        Body: JSON.stringify(pages),
        ContentType: "application/json",
      }),
    );
    return { bucket, sourceKey: key, docId, pagesPrefix, pageCount, manifestKey };
  } finally {
    await uploads.drain().catch(() => {});
    if (process.env.CLEAN_TMP === "true") {
      await rm(sourcePath, { force: true });
      await rm(pageDir, { recursive: true, force: true });
    }
  }
}
