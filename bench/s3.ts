/**
 * PutObject and GetObject throughput of a 10 MiB object through the edge
 * server and the real SDK client, against writing and reading the same
 * bytes to a local file (with fsync, as the store does).
 */
import { randomBytes } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { makeTempDir, removeDir, startS3 } from "../test/s3/s3-harness.ts";

const MIB = 1024 * 1024;
const OBJECT_BYTES = 10 * MIB;
const ROUNDS = 10;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timeIt(action: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await action();
  return performance.now() - start;
}

/**
 * Measures the median milliseconds and MiB per second of each operation over `ROUNDS`
 * rounds (after one warm-up round), and the ratio of the plain file's
 * throughput to the S3 path's (how many times slower S3 is).
 */
export async function benchS3(): Promise<Record<string, number>> {
  const root = await makeTempDir("bench");
  const server = await startS3(join(root, "store"));
  const body = randomBytes(OBJECT_BYTES);
  const samples = {
    s3Put: [] as number[],
    s3Get: [] as number[],
    filePut: [] as number[],
    fileGet: [] as number[],
  };

  try {
    await server.client.send(new CreateBucketCommand({ Bucket: "bench-bucket" }));
    for (let round = 0; round < ROUNDS + 1; round++) {
      const put = await timeIt(async () => {
        await server.client.send(
          new PutObjectCommand({ Bucket: "bench-bucket", Key: "ten-mib", Body: body }),
        );
      });
      const get = await timeIt(async () => {
        const got = await server.client.send(
          new GetObjectCommand({ Bucket: "bench-bucket", Key: "ten-mib" }),
        );
        const bytes = await got.Body?.transformToByteArray();
        if (bytes?.length !== OBJECT_BYTES)
          throw new Error(`GetObject returned ${bytes?.length} bytes`);
      });
      const filePath = join(root, `plain-${round}.bin`);
      const filePut = await timeIt(async () => {
        const handle = await open(filePath, "w");
        await handle.writeFile(body);
        await handle.sync();
        await handle.close();
      });
      const fileGet = await timeIt(async () => {
        const bytes = await readFile(filePath);
        if (bytes.length !== OBJECT_BYTES)
          throw new Error(`readFile returned ${bytes.length} bytes`);
      });
      // The first round warms up the JIT, the connection pool and the page cache.
      if (round === 0) continue;
      samples.s3Put.push(put);
      samples.s3Get.push(get);
      samples.filePut.push(filePut);
      samples.fileGet.push(fileGet);
    }
  } finally {
    await server.close();
    await removeDir(root);
  }

  const mibPerSecond = (milliseconds: number) =>
    Number((OBJECT_BYTES / MIB / (milliseconds / 1000)).toFixed(1));
  const putMs = median(samples.s3Put);
  const getMs = median(samples.s3Get);
  const filePutMs = median(samples.filePut);
  const fileGetMs = median(samples.fileGet);
  return {
    "s3.object_mib": OBJECT_BYTES / MIB,
    "s3.rounds": ROUNDS,
    "s3.put_median_ms": Number(putMs.toFixed(1)),
    "s3.put_mib_per_second": mibPerSecond(putMs),
    "s3.file_write_median_ms": Number(filePutMs.toFixed(1)),
    "s3.file_write_mib_per_second": mibPerSecond(filePutMs),
    "s3.put_slowdown_vs_file": Number((putMs / filePutMs).toFixed(2)),
    "s3.get_median_ms": Number(getMs.toFixed(1)),
    "s3.get_mib_per_second": mibPerSecond(getMs),
    "s3.file_read_median_ms": Number(fileGetMs.toFixed(1)),
    "s3.file_read_mib_per_second": mibPerSecond(fileGetMs),
    "s3.get_slowdown_vs_file": Number((getMs / fileGetMs).toFixed(2)),
  };
}
