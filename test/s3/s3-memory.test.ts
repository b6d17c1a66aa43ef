import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir, type S3Server, startS3 } from "./s3-harness.ts";

let server: S3Server;
let root: string;
const BUCKET = "memory-bucket";
const MIB = 1024 * 1024;
const OBJECT_BYTES = 100 * MIB;
const CHUNK_BYTES = 256 * 1024;
// Generous bound on live heap plus buffer growth while 100 MiB pass through
// the server and the client in this process: a buffered object would exceed it.
const MAX_GROWTH_BYTES = 50 * MIB;

beforeAll(async () => {
  root = await makeTempDir("memory");
  server = await startS3(root);
  await server.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  await server?.close();
  await removeDir(root);
});

/** Creates a stream of OBJECT_BYTES of a repeating pattern, generated chunk by chunk. */
function generatedBody(): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= OBJECT_BYTES) {
        this.push(null);
        return;
      }
      const chunk = Buffer.alloc(CHUNK_BYTES, sent / CHUNK_BYTES);
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

function expectedMd5(): string {
  const hash = createHash("md5");
  for (let sent = 0; sent < OBJECT_BYTES; sent += CHUNK_BYTES)
    hash.update(Buffer.alloc(CHUNK_BYTES, sent / CHUNK_BYTES));
  return hash.digest("hex");
}

// A garbage collector handle, so that samples measure live memory rather
// than garbage the collector has not reached yet.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as (options?: { type: "minor" | "major" }) => void;

// A young-generation collection is cheap enough to run before every sample,
// and it frees the short-lived chunk buffers of a stream.
function usedMemory(): number {
  collectGarbage({ type: "minor" });
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Samples memory every few milliseconds while `action` runs and returns the peak growth. */
async function peakGrowth(action: () => Promise<void>): Promise<number> {
  collectGarbage({ type: "major" });
  const baseline = usedMemory();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, usedMemory());
  }, 20);
  try {
    await action();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, usedMemory());
  return peak - baseline;
}

describe("streaming memory", () => {
  it("streams a 100 MiB object in and out with bounded memory growth", async () => {
    const md5 = expectedMd5();
    let storedEtag = "";
    let readMd5 = "";
    let readBytes = 0;

    const uploadGrowth = await peakGrowth(async () => {
      const put = await server.client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: "big.bin",
          Body: generatedBody(),
          ContentLength: OBJECT_BYTES,
        }),
      );
      storedEtag = put.ETag ?? "";
    });
    const downloadGrowth = await peakGrowth(async () => {
      const got = await server.client.send(
        new GetObjectCommand({ Bucket: BUCKET, Key: "big.bin" }),
      );
      const hash = createHash("md5");
      for await (const chunk of got.Body as Readable) {
        hash.update(chunk as Buffer);
        readBytes += (chunk as Buffer).length;
      }
      readMd5 = hash.digest("hex");
    });

    expect(storedEtag).toBe(`"${md5}"`);
    expect(readBytes).toBe(OBJECT_BYTES);
    expect(readMd5).toBe(md5);
    expect(uploadGrowth).toBeLessThan(MAX_GROWTH_BYTES);
    expect(downloadGrowth).toBeLessThan(MAX_GROWTH_BYTES);
    console.log(
      `memory growth: upload ${(uploadGrowth / MIB).toFixed(1)} MiB, download ${(downloadGrowth / MIB).toFixed(1)} MiB`,
    );
  });
});
