/**
 * The three handlers end to end against the simulator's S3 server, with the
 * real AWS SDK v3 clients they create at module scope.
 */
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { PDFDocument } from "pdf-lib";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generatePdf } from "../../functions/shared/generate-pdf.mjs";
import { readCorpusFile } from "./corpus.ts";

const S3_PLUGIN = fileURLToPath(new URL("../../simulator/s3/s3-plugin.ts", import.meta.url));
const hasS3 = existsSync(S3_PLUGIN);
const BUCKET = "pdf-handlers";

type Handler = (event: unknown, context?: unknown) => Promise<any>;
let split: Handler;
let analyze: Handler;
let summarize: Handler;
let s3: S3Client;
let app: { close(): Promise<void> } | undefined;
let dataDir: string;
let tmpDir: string;
const savedEnv = { ...process.env };

function lambdaContext(functionName: string, remainingMs = 60_000) {
  const deadline = Date.now() + remainingMs;
  return { functionName, getRemainingTimeInMillis: () => deadline - Date.now() };
}

async function upload(key: string, body: Uint8Array) {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function download(key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  if (!response.Body) throw new Error(`GetObject returned no body for ${key}.`);
  return Buffer.from(await response.Body.transformToByteArray());
}

async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).name;
  }
  return "no error";
}

function filesUnder(dir: string): Array<{ path: string; size: number }> {
  const found: Array<{ path: string; size: number }> = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path));
    else found.push({ path, size: statSync(path).size });
  }
  return found;
}

function openDescriptorCount(): number {
  return readdirSync("/proc/self/fd").length;
}

// Closes the descriptors the leaking handler left open on files under `dir`.
function closeDescriptorsUnder(dir: string): void {
  for (const entry of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${entry}`).startsWith(dir)) closeSync(Number(entry));
    } catch {
      // The descriptor closed while the folder was being listed.
    }
  }
}

// tmpfs, like ext4 on Lambda's /tmp, allocates whole 4 KiB blocks per file.
const BLOCK_BYTES = 4096;

/** Bytes a file of `size` bytes takes on a filesystem with 4 KiB blocks. */
function blockBytes(size: number): number {
  return Math.ceil(size / BLOCK_BYTES) * BLOCK_BYTES;
}

/**
 * Predicts the invocation that first fails with ENOSPC when every invocation
 * leaves `footprintBytes` behind in a /tmp of `capacityBytes`.
 */
function firstFailingInvocation(capacityBytes: number, footprintBytes: number): number {
  return Math.floor(capacityBytes / footprintBytes) + 1;
}

// Mounting a small tmpfs needs root (CAP_SYS_ADMIN), which CI has.
function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = join(tmpdir(), `warmstate-mount-probe-${process.pid}`);
  try {
    execFileSync("mkdir", ["-p", probe]);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe], { stdio: "ignore" });
    execFileSync("umount", [probe]);
    return true;
  } catch {
    return false;
  } finally {
    execFileSync("rm", ["-rf", probe]);
  }
}

describe.skipIf(!hasS3)("function handlers against the simulator's S3", () => {
  beforeAll(async () => {
    const { createEdgeServer } = await import("../../simulator/edge/edge-server.ts");
    const { SERVICE_PREFIX } = await import("../../simulator/edge/service-routing.ts");
    const { ObjectStore } = await import("../../simulator/s3/object-store.ts");
    const { s3Plugin } = await import("../../simulator/s3/s3-plugin.ts");

    dataDir = await mkdtemp(join(tmpdir(), "warmstate-functions-s3-"));
    const store = new ObjectStore({ root: dataDir });
    await store.open();
    const server = createEdgeServer({ logger: pino({ level: "silent" }) });
    await server.register(s3Plugin, { prefix: SERVICE_PREFIX.s3, store });
    const address = await server.listen({ host: "127.0.0.1", port: 0 });
    app = server;

    // The variables the simulator sets in every sandbox.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: address,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    s3 = new S3Client({ forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));

    split = (await import("../../functions/pdf-split/index.mjs")).handler;
    analyze = (await import("../../functions/pdf-analyze/index.mjs")).handler;
    summarize = (await import("../../functions/pdf-summarize/index.mjs")).handler;
  });

  afterAll(async () => {
    s3?.destroy();
    await app?.close();
    await rm(dataDir, { recursive: true, force: true });
    process.env = { ...savedEnv };
  });

  let caseTmp: string;
  beforeAll(async () => {
    tmpDir = await mkdtemp(join(tmpdir(), "warmstate-functions-tmp-"));
  });
  afterAll(async () => {
    await rm(tmpDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const name of [
      "CLEAN_TMP",
      "CLOSE_FDS",
      "INLINE_RESULT_MAX_BYTES",
      "MAX_PIXELS",
      "SELF_RECYCLE",
    ]) {
      delete process.env[name];
    }
    if (caseTmp) {
      closeDescriptorsUnder(caseTmp);
      await rm(caseTmp, { recursive: true, force: true });
    }
  });

  async function freshTmp(): Promise<string> {
    caseTmp = join(tmpDir, `case-${Date.now()}-${Math.random().toString(16).slice(2)}`);
    await mkdir(caseTmp, { recursive: true });
    process.env.TMP_DIR = caseTmp;
    return caseTmp;
  }

  describe("pdf-split handler", () => {
    it("uploads one PDF per page", async () => {
      await freshTmp();
      await upload("in/three.pdf", await generatePdf({ pages: 3, seed: 11 }));

      const result = await split(
        { bucket: BUCKET, key: "in/three.pdf" },
        lambdaContext("pdf-split"),
      );

      expect(result).toMatchObject({
        bucket: BUCKET,
        sourceKey: "in/three.pdf",
        docId: "in/three",
        pageCount: 3,
      });
      expect(result.pages.map((page: { key: string }) => page.key)).toEqual([
        "pages/in/three/page-0001.pdf",
        "pages/in/three/page-0002.pdf",
        "pages/in/three/page-0003.pdf",
      ]);
      for (const page of result.pages) {
        const single = await PDFDocument.load(await download(page.key));
        expect(single.getPageCount()).toBe(1);
      }
    });

    it("leaves its /tmp files behind by default", async () => {
      const dir = await freshTmp();
      const source = await generatePdf({ pages: 4, seed: 12 });
      await upload("in/leak.pdf", source);

      await split({ bucket: BUCKET, key: "in/leak.pdf" }, lambdaContext("pdf-split"));

      const files = filesUnder(dir);
      expect(files.find((file) => file.path.endsWith("in_leak.pdf"))?.size).toBe(source.length);
      expect(files.filter((file) => /page-\d{4}\.pdf$/.test(file.path))).toHaveLength(4);
    });

    it("removes its /tmp files with CLEAN_TMP=true", async () => {
      const dir = await freshTmp();
      process.env.CLEAN_TMP = "true";
      await upload("in/clean.pdf", await generatePdf({ pages: 4, seed: 13 }));

      await split({ bucket: BUCKET, key: "in/clean.pdf" }, lambdaContext("pdf-split"));

      expect(await readdir(dir)).toEqual([]);
    });

    it("removes its /tmp files with CLEAN_TMP=true after a failure", async () => {
      const dir = await freshTmp();
      process.env.CLEAN_TMP = "true";
      await upload(
        "in/encrypted.pdf",
        readCorpusFile("encrypted-rc4-128-r3-empty-user-password.pdf"),
      );

      const name = await errorName(
        split({ bucket: BUCKET, key: "in/encrypted.pdf" }, lambdaContext("pdf-split")),
      );

      expect(name).toBe("EncryptedPDFError");
      expect(await readdir(dir)).toEqual([]);
    });

    it("writes a manifest when the page list is too large", async () => {
      await freshTmp();
      process.env.INLINE_RESULT_MAX_BYTES = "500";
      await upload("in/big.pdf", await generatePdf({ pages: 12, seed: 14 }));

      const result = await split({ bucket: BUCKET, key: "in/big.pdf" }, lambdaContext("pdf-split"));

      expect(result.pages).toBeUndefined();
      expect(result.manifestKey).toBe("pages/in/big/manifest.json");
      const manifest = JSON.parse((await download(result.manifestKey)).toString());
      expect(manifest).toHaveLength(12);
      expect(manifest[11]).toEqual({
        bucket: BUCKET,
        key: "pages/in/big/page-0012.pdf",
        pageNumber: 12,
      });
    });

    it("returns the page list inline when alwaysInline is set", async () => {
      await freshTmp();
      process.env.INLINE_RESULT_MAX_BYTES = "500";
      await upload("in/forced.pdf", await generatePdf({ pages: 12, seed: 15 }));

      const result = await split(
        { bucket: BUCKET, key: "in/forced.pdf", alwaysInline: true },
        lambdaContext("pdf-split"),
      );

      expect(result.manifestKey).toBeUndefined();
      expect(result.pages).toHaveLength(12);
    });

    it("stops when the invocation has no time left", async () => {
      await freshTmp();
      await upload("in/late.pdf", await generatePdf({ pages: 5, seed: 16 }));

      const name = await errorName(
        split({ bucket: BUCKET, key: "in/late.pdf" }, lambdaContext("pdf-split", 1)),
      );

      expect(name).toBe("TimeBudgetExceededError");
    });

    it("names bad input in the error", async () => {
      await freshTmp();
      await upload("in/zero.pdf", readCorpusFile("zero-pages.pdf"));
      await upload("in/empty.pdf", new Uint8Array(0));

      expect(
        await errorName(split({ bucket: BUCKET, key: "in/zero.pdf" }, lambdaContext("pdf-split"))),
      ).toBe("ZeroPagesError");
      expect(
        await errorName(split({ bucket: BUCKET, key: "in/empty.pdf" }, lambdaContext("pdf-split"))),
      ).toBe("EmptyPDFError");
      expect(
        await errorName(
          split({ bucket: BUCKET, key: "in/missing.pdf" }, lambdaContext("pdf-split")),
        ),
      ).toBe("NoSuchKey");
      expect(await errorName(split({ key: "in/zero.pdf" }, lambdaContext("pdf-split")))).toBe(
        "InvalidEventError",
      );
    });
  });

  describe.skipIf(!canMountTmpfs())("pdf-split /tmp exhaustion (needs root to mount tmpfs)", () => {
    let mounted: string | undefined;
    afterEach(() => {
      if (mounted) execFileSync("umount", [mounted]);
      mounted = undefined;
    });

    it("fails with ENOSPC at the predicted document", async () => {
      const source = await generatePdf({ pages: 12, seed: 41 });
      const pageSizes: number[] = [];
      const { splitPdf } = await import("../../functions/pdf-split/split.mjs");
      await splitPdf(source, {
        onPage: async (_: number, page: Uint8Array) => void pageSizes.push(page.length),
      });
      const footprint =
        blockBytes(source.length) + pageSizes.reduce((sum, size) => sum + blockBytes(size), 0);
      const capacity = 1024 * 1024;
      const expected = firstFailingInvocation(capacity, footprint);

      const dir = await freshTmp();
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${capacity}`, "tmpfs", dir]);
      mounted = dir;
      let failedAt = 0;
      let failure = "";
      for (let invocation = 1; invocation <= expected + 2 && failedAt === 0; invocation++) {
        const key = `in/fill-${invocation}.pdf`;
        await upload(key, source);
        try {
          await split({ bucket: BUCKET, key }, lambdaContext("pdf-split"));
        } catch (error) {
          failedAt = invocation;
          failure = (error as NodeJS.ErrnoException).code ?? String(error);
        }
      }

      expect(failure).toBe("ENOSPC");
      expect(failedAt).toBe(expected);
    });

    it("predicts the documents a 512 MB /tmp holds", () => {
      // A 2 MB source split into 100 pages of 22 KB leaves 4,460,544 bytes
      // per invocation in 4 KiB blocks: 120 documents fit, the 121st fails.
      const footprint = blockBytes(2_000_000) + 100 * blockBytes(22_000);

      expect(firstFailingInvocation(512 * 1024 * 1024, footprint)).toBe(121);
    });
  });

  describe("pdf-analyze handler", () => {
    it("uploads a thumbnail and the analysis", async () => {
      await freshTmp();
      await upload("pages/doc/page-0007.pdf", await generatePdf({ pages: 1, seed: 21 }));

      const result = await analyze(
        { bucket: BUCKET, key: "pages/doc/page-0007.pdf" },
        lambdaContext("pdf-analyze"),
      );

      expect(result).toMatchObject({ pageNumber: 7, width: 850, height: 1100, blank: false });
      expect(result.thumbnailKey).toBe("thumbnails/pages/doc/page-0007.jpg");
      expect((await download(result.thumbnailKey)).subarray(0, 2)).toEqual(
        Buffer.from([0xff, 0xd8]),
      );
      expect(JSON.parse((await download(result.analysisKey)).toString())).toEqual(result);
    });

    it("leaks one descriptor per invocation by default", async () => {
      await freshTmp();
      await upload("pages/doc/page-0001.pdf", await generatePdf({ pages: 1, seed: 22 }));
      const event = { bucket: BUCKET, key: "pages/doc/page-0001.pdf" };
      await analyze(event, lambdaContext("pdf-analyze"));

      const before = openDescriptorCount();
      for (let i = 0; i < 5; i++) await analyze(event, lambdaContext("pdf-analyze"));

      expect(openDescriptorCount() - before).toBe(5);
    });

    it("closes its descriptor with CLOSE_FDS=true", async () => {
      await freshTmp();
      process.env.CLOSE_FDS = "true";
      await upload("pages/doc/page-0002.pdf", await generatePdf({ pages: 1, seed: 23 }));
      const event = { bucket: BUCKET, key: "pages/doc/page-0002.pdf" };
      await analyze(event, lambdaContext("pdf-analyze"));

      const before = openDescriptorCount();
      for (let i = 0; i < 5; i++) await analyze(event, lambdaContext("pdf-analyze"));

      expect(openDescriptorCount() - before).toBe(0);
    });

    it("names bad input in the error", async () => {
      await freshTmp();
      process.env.CLOSE_FDS = "true";
      process.env.MAX_PIXELS = "1000";
      await upload(
        "pages/bad/page-0001.pdf",
        readCorpusFile("encrypted-aes-256-r6-user-password.pdf"),
      );
      await upload("pages/bad/page-0002.pdf", await generatePdf({ pages: 1, seed: 24 }));

      const encrypted = analyze(
        { bucket: BUCKET, key: "pages/bad/page-0001.pdf" },
        lambdaContext("pdf-analyze"),
      );
      const tooLarge = analyze(
        { bucket: BUCKET, key: "pages/bad/page-0002.pdf" },
        lambdaContext("pdf-analyze"),
      );

      // Both are awaited together: awaiting one first would leave the other's
      // rejection unhandled for a moment if it came first.
      const names = await Promise.all([errorName(encrypted), errorName(tooLarge)]);

      expect(names).toEqual(["EncryptedPDFError", "PixelLimitExceededError"]);
    });

    it("still succeeds when self-recycling fails", async () => {
      // The edge server here has no Lambda API, so UpdateFunctionConfiguration fails.
      await freshTmp();
      process.env.CLOSE_FDS = "true";
      process.env.SELF_RECYCLE = "true";
      await upload("pages/doc/page-0003.pdf", await generatePdf({ pages: 1, seed: 25 }));

      const result = await analyze(
        { bucket: BUCKET, key: "pages/doc/page-0003.pdf" },
        lambdaContext("pdf-analyze"),
      );

      expect(result.pageNumber).toBe(3);
    });
  });

  describe("pdf-summarize handler", () => {
    it("summarizes a split and analyzed document", async () => {
      await freshTmp();
      process.env.CLOSE_FDS = "true";
      await upload(
        "in/summary.pdf",
        readCorpusFile("blank-page-without-contents-in-3-page-doc.pdf"),
      );
      const splitResult = await split(
        { bucket: BUCKET, key: "in/summary.pdf" },
        lambdaContext("pdf-split"),
      );
      for (const page of splitResult.pages) await analyze(page, lambdaContext("pdf-analyze"));

      const result = await summarize(splitResult);

      expect(result).toMatchObject({ status: "succeeded", pageCount: 3, blankPageCount: 1 });
      const summary = JSON.parse((await download(result.summaryKey)).toString());
      expect(summary.blankPages).toEqual([2]);
      expect(summary.pages).toHaveLength(3);
    });

    it("fails when a page has no analysis", async () => {
      await freshTmp();
      process.env.CLOSE_FDS = "true";
      await upload("in/partial.pdf", await generatePdf({ pages: 3, seed: 31 }));
      const splitResult = await split(
        { bucket: BUCKET, key: "in/partial.pdf" },
        lambdaContext("pdf-split"),
      );
      await analyze(splitResult.pages[0], lambdaContext("pdf-analyze"));

      expect(await errorName(summarize(splitResult))).toBe("IncompleteAnalysisError");
    });

    it("reports failed documents with their error message", async () => {
      const cause = JSON.stringify({
        errorType: "EncryptedPDFError",
        errorMessage: "The PDF is encrypted",
        trace: ["at x"],
      });

      const report = await summarize({
        action: "report",
        documents: [
          {
            status: "succeeded",
            sourceKey: "in/a.pdf",
            summaryKey: "summaries/in/a.json",
            pageCount: 2,
            blankPageCount: 0,
          },
          { status: "failed", key: "in/b.pdf", error: "EncryptedPDFError", cause },
        ],
      });

      expect(report).toMatchObject({ documentCount: 2, succeededCount: 1, failedCount: 1 });
      expect(report.failed).toEqual([
        { key: "in/b.pdf", error: "EncryptedPDFError", cause: "The PDF is encrypted" },
      ]);
    });
  });
});
