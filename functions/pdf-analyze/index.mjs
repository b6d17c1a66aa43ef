/**
 * pdf-analyze: renders one page PDF from S3 with PDFium, measures it with
 * sharp, uploads a JPEG thumbnail and the analysis JSON, and returns a small
 * result. Handler `index.handler`, Node.js 20 or later.
 *
 * Event:  { bucket, key, pageNumber? }   (the key of a single-page PDF)
 * Result: { bucket, key, pageNumber, width, height, pageWidthPt, pageHeightPt, dpi,
 *           channels: [{ name, mean, stdev }], inkCoverage, blank, thumbnailKey, analysisKey }
 *
 * Environment:
 *   CLOSE_FDS          "true" closes the page file's descriptor (the fix); by default one
 *                      descriptor leaks per invocation, as in the production bug
 *   CLEAN_TMP          "true" deletes the page file from /tmp when the invocation ends; by
 *                      default it stays, one file per page number. Without CLOSE_FDS the
 *                      deleted file stays open and keeps its space.
 *   SELF_RECYCLE       "true" updates this function's RECYCLE_MARK variable after each
 *                      invocation, so Lambda replaces its environments (the production workaround)
 *   RENDER_DPI         render resolution (default 100)
 *   MAX_PIXELS         largest bitmap in pixels (default 25000000)
 *   INK_THRESHOLD      luminance below which a pixel is ink, 0 to 255 (default 128)
 *   BLANK_MAX_INK      ink coverage at or below which a page is blank (default 0.0001)
 *   THUMBNAIL_WIDTH    thumbnail width in pixels (default 200)
 *   THUMBNAIL_PREFIX   key prefix of thumbnails (default "thumbnails")
 *   ANALYSIS_PREFIX    key prefix of the analysis JSON objects (default "analysis")
 *   S3_FORCE_PATH_STYLE "false" turns path-style S3 addressing off (default on)
 *   TMP_DIR            scratch folder (default /tmp)
 */
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
} from "@aws-sdk/client-lambda";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { PDFiumLibrary } from "@hyzyla/pdfium";
import { ANALYSIS_DEFAULTS, analyzePdfPage } from "./analyze.mjs";
import { InvalidEventError } from "./errors.mjs";

// Module scope runs once per execution environment (the INIT phase), so the
// WebAssembly module is compiled once and reused by every warm invocation.
const pdfium = await PDFiumLibrary.init();
const s3 = new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE !== "false" });
let lambda;

function numberFromEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `Environment variable ${name} must be a non-negative number, got "${raw}".`,
    );
  }
  return value;
}

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
  const fromKey = /page-(\d+)\.pdf$/i.exec(key);
  const pageNumber = Number.isInteger(event.pageNumber)
    ? event.pageNumber
    : fromKey
      ? Number(fromKey[1])
      : 1;
  return { bucket, key, pageNumber };
}

/**
 * Forces fresh environments the way the production workaround did: changing
 * any environment variable makes Lambda replace the function's environments.
 * Errors are logged, not thrown, because the page itself was analysed; on
 * AWS a concurrent update fails with ResourceConflictException.
 */
async function recycleOwnEnvironments(functionName) {
  lambda ??= new LambdaClient({});
  try {
    const current = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: functionName }),
    );
    const variables = {
      ...(current.Environment?.Variables ?? {}),
      RECYCLE_MARK: String(Date.now()),
    };
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: functionName,
        Environment: { Variables: variables },
      }),
    );
  } catch (error) {
    console.warn(
      JSON.stringify({
        message: "self-recycle failed",
        functionName,
        error: error.name,
        detail: error.message,
      }),
    );
  }
}

/** Lambda handler: analyses the first page of s3://bucket/key. */
export async function handler(event, context) {
  const { bucket, key, pageNumber } = readEvent(event);
  const tmpDir = process.env.TMP_DIR ?? "/tmp";
  // Keep a fifth of the remaining time, at most 2 seconds, for the uploads.
  const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
  const deadline = Date.now() + remaining - Math.min(2000, remaining * 0.2);

  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const pagePath = join(tmpDir, `page-${pageNumber}.pdf`);
  await writeFile(pagePath, Buffer.from(await response.Body.transformToByteArray()));

  // The production bug: the descriptor is opened for every page and only
  // closed when CLOSE_FDS=true, so a warm environment runs out of
  // descriptors (RLIMIT_NOFILE, 1024 on Lambda) after about a thousand pages.
  const fd = openSync(pagePath, "r");
  try {
    const analysis = await analyzePdfPage(pdfium, readFileSync(fd), {
      deadline,
      dpi: numberFromEnv("RENDER_DPI", ANALYSIS_DEFAULTS.dpi),
      maxPixels: numberFromEnv("MAX_PIXELS", ANALYSIS_DEFAULTS.maxPixels),
      inkThreshold: numberFromEnv("INK_THRESHOLD", ANALYSIS_DEFAULTS.inkThreshold),
      blankMaxInkCoverage: numberFromEnv("BLANK_MAX_INK", ANALYSIS_DEFAULTS.blankMaxInkCoverage),
      thumbnailWidth: numberFromEnv("THUMBNAIL_WIDTH", ANALYSIS_DEFAULTS.thumbnailWidth),
    });

    const baseKey = key.replace(/\.pdf$/i, "");
    const thumbnailKey = `${process.env.THUMBNAIL_PREFIX ?? "thumbnails"}/${baseKey}.jpg`;
    const analysisKey = `${process.env.ANALYSIS_PREFIX ?? "analysis"}/${baseKey}.json`;
    const { thumbnail, pageCount, ...measures } = analysis;
    const result = { bucket, key, pageNumber, ...measures, thumbnailKey, analysisKey };

    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: thumbnailKey,
        Body: thumbnail,
        ContentType: "image/jpeg",
      }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: analysisKey,
        Body: JSON.stringify(result),
        ContentType: "application/json",
      }),
    );
    return result;
  } finally {
    if (process.env.CLOSE_FDS === "true") closeSync(fd);
    if (process.env.CLEAN_TMP === "true") rmSync(pagePath, { force: true });
    if (process.env.SELF_RECYCLE === "true" && context?.functionName) {
      await recycleOwnEnvironments(context.functionName);
    }
  }
}
