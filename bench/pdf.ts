/**
 * Pages per second of pdf-split and pdf-analyze, each on one warm
 * environment through the simulator, against the same library calls
 * (splitPdf, analyzePdfPage) on the same bytes in this process, without
 * S3 or a sandbox.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CreateFunctionCommand, InvokeCommand } from "@aws-sdk/client-lambda";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { PDFiumLibrary } from "@hyzyla/pdfium";
import { ANALYSIS_DEFAULTS, analyzePdfPage } from "../functions/pdf-analyze/analyze.mjs";
import { splitPdf } from "../functions/pdf-split/split.mjs";
import { generatePdf } from "../functions/shared/generate-pdf.mjs";
import { startBenchSimulator } from "./noop-simulator.ts";
import { round } from "./stats.ts";

const FUNCTIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../functions");
const PAGES = 20;
const SPLIT_RUNS = 3;
const BUCKET = "bench-pdf";

/** Measures pages per second of both functions through the simulator and in this process. */
export async function benchPdf(): Promise<Record<string, number>> {
  const document = await generatePdf({ pages: PAGES, seed: 7 });
  const bench = await startBenchSimulator();
  const s3 = new S3Client({
    endpoint: bench.simulator.endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
  });

  try {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "in/doc.pdf", Body: document }));
    // The fixes are on, so warm environments do not fill /tmp or leak descriptors.
    await deploy(bench, "pdf-split", { CLEAN_TMP: "true" });
    await deploy(bench, "pdf-analyze", { CLOSE_FDS: "true" });

    // Split: the first invoke is the cold start; the rest reuse that environment.
    const invokeSplit = () =>
      invokeJson(bench, "pdf-split", { bucket: BUCKET, key: "in/doc.pdf", alwaysInline: true });
    const split = (await invokeSplit()) as {
      pageCount: number;
      pages: Array<{ key: string; pageNumber: number }>;
    };
    if (split.pageCount !== PAGES)
      throw new Error(`pdf-split returned ${split.pageCount} pages, expected ${PAGES}.`);
    const splitStarted = performance.now();
    for (let run = 0; run < SPLIT_RUNS; run++) await invokeSplit();
    const splitSeconds = (performance.now() - splitStarted) / 1000;

    // Analyze: one warm-up page, then every page in sequence on the same environment.
    const analyzePage = (page: { key: string; pageNumber: number }) =>
      invokeJson(bench, "pdf-analyze", {
        bucket: BUCKET,
        key: page.key,
        pageNumber: page.pageNumber,
      });
    await analyzePage(split.pages[0]);
    const analyzeStarted = performance.now();
    for (const page of split.pages) await analyzePage(page);
    const analyzeSeconds = (performance.now() - analyzeStarted) / 1000;
    const environments = bench.simulator.lambda.environments("pdf-analyze").length;

    const firstPage = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: split.pages[0].key }),
    );
    const pageBytes = Buffer.from(
      await (firstPage.Body?.transformToByteArray() ?? new Uint8Array()),
    );
    const baseline = await inProcessBaseline(document, pageBytes);

    const splitPagesPerSecond = (SPLIT_RUNS * PAGES) / splitSeconds;
    const analyzePagesPerSecond = PAGES / analyzeSeconds;
    return {
      "pdf.pages": PAGES,
      "pdf.split_runs": SPLIT_RUNS,
      "pdf.split_pages_per_second": round(splitPagesPerSecond),
      "pdf.split_in_process_pages_per_second": round(baseline.splitPagesPerSecond),
      "pdf.split_ratio_vs_in_process": round(splitPagesPerSecond / baseline.splitPagesPerSecond),
      "pdf.analyze_pages_per_second": round(analyzePagesPerSecond),
      "pdf.analyze_in_process_pages_per_second": round(baseline.analyzePagesPerSecond),
      "pdf.analyze_ratio_vs_in_process": round(
        analyzePagesPerSecond / baseline.analyzePagesPerSecond,
      ),
      "pdf.analyze_environments": environments,
    };
  } finally {
    s3.destroy();
    await bench.close();
  }
}

async function deploy(
  bench: Awaited<ReturnType<typeof startBenchSimulator>>,
  name: string,
  variables: Record<string, string>,
): Promise<void> {
  await bench.lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: "nodejs20.x",
      Role: "arn:aws:iam::000000000000:role/bench",
      Handler: "index.handler",
      Code: { S3Bucket: "hot-reload", S3Key: path.join(FUNCTIONS_DIR, name) },
      MemorySize: 1024,
      Timeout: 120,
      Environment: { Variables: variables },
    }),
  );
}

async function invokeJson(
  bench: Awaited<ReturnType<typeof startBenchSimulator>>,
  name: string,
  event: unknown,
): Promise<unknown> {
  const result = await bench.lambda.send(
    new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)) }),
  );
  const body = Buffer.from(result.Payload ?? new Uint8Array()).toString("utf8");
  if (result.FunctionError)
    throw new Error(`${name} failed (${result.FunctionError}): ${body.slice(0, 500)}`);
  return JSON.parse(body);
}

/** Times the same split and per-page analysis in this process, after one warm-up of each. */
async function inProcessBaseline(
  document: Buffer,
  pageBytes: Buffer,
): Promise<{ splitPagesPerSecond: number; analyzePagesPerSecond: number }> {
  const onPage = async () => undefined;
  await splitPdf(document, { onPage });
  const splitStarted = performance.now();
  for (let run = 0; run < SPLIT_RUNS; run++) await splitPdf(document, { onPage });
  const splitSeconds = (performance.now() - splitStarted) / 1000;

  const pdfium = await PDFiumLibrary.init();
  try {
    await analyzePdfPage(pdfium, pageBytes, ANALYSIS_DEFAULTS);
    const analyzeStarted = performance.now();
    for (let page = 0; page < PAGES; page++)
      await analyzePdfPage(pdfium, pageBytes, ANALYSIS_DEFAULTS);
    const analyzeSeconds = (performance.now() - analyzeStarted) / 1000;
    return {
      splitPagesPerSecond: (SPLIT_RUNS * PAGES) / splitSeconds,
      analyzePagesPerSecond: PAGES / analyzeSeconds,
    };
  } finally {
    pdfium.destroy();
  }
}
