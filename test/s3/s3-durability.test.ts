import { mkdir, readdir, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join, relative } from "node:path";
import { Readable } from "node:stream";
import { crc32 } from "node:zlib";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listFiles, makeTempDir, removeDir, type S3Server, startS3 } from "./s3-harness.ts";

let parent: string;
let root: string;
let server: S3Server | undefined;
const BUCKET = "durable-bucket";

beforeEach(async () => {
  // The store root sits inside a parent directory, so a write that escaped
  // the root would show up as a file in the parent.
  parent = await makeTempDir("durability");
  root = join(parent, "store");
  await mkdir(join(parent, "sibling"));
  server = await startS3(root);
  await server.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await removeDir(parent);
});

function current(): S3Server {
  if (!server) throw new Error("the S3 server is not running");
  return server;
}

async function expectS3Error(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) return error;
    throw error;
  }
  throw new Error("expected the request to fail, but it succeeded");
}

async function readText(key: string): Promise<string | undefined> {
  const got = await current().client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return got.Body?.transformToString();
}

/** Sends a raw PUT whose body is written by `writeBody`, returning status and text. */
function rawPut(
  path: string,
  headers: Record<string, string | number>,
  writeBody: (outgoing: ReturnType<typeof request>) => void,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: "127.0.0.1", port: current().port, method: "PUT", path, headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    outgoing.on("error", reject);
    writeBody(outgoing);
  });
}

/** Waits, within a bounded number of polls, until the store's scratch directory is empty. */
async function scratchFiles(): Promise<string[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const files = await readdir(join(root, "tmp"));
    if (files.length === 0) return files;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return readdir(join(root, "tmp"));
}

const ODD_KEYS = [
  "../escape.txt",
  "../../../../etc/passwd-copy",
  "a/../../b",
  "..",
  ".",
  "/leading-slash",
  "double//slash",
  "trailing/",
  "trailing//",
  "percent%2Fencoded",
  "question?mark#hash&amp",
  "spaces and\ttabs",
  "ключ/日本語/😀",
  "back\\slash",
  "plus+sign=equals",
  "x".repeat(300),
];

describe("odd keys", () => {
  it("stores every odd key exactly and lists them back", async () => {
    for (const key of ODD_KEYS) {
      await current().client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `body of ${key}` }),
      );
    }

    const listed = await current().client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    for (const key of ODD_KEYS) expect(await readText(key), key).toBe(`body of ${key}`);

    const expected = [...ODD_KEYS].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(listed.Contents?.map((object) => object.Key)).toEqual(expected);
  });

  it("writes nothing outside the store root", async () => {
    for (const key of ODD_KEYS) {
      await current().client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "x" }));
    }

    const everything = await listFiles(parent);
    const outside = everything.filter((file) => relative(root, file).startsWith(".."));
    const layout =
      /^(buckets\/durable-bucket\/(bucket\.json|objects\/[0-9a-f]{2}\/[0-9a-f]{64}\.(json|[0-9a-z]+-[0-9a-f]{16}\.data)))$/;
    const unexpected = everything
      .map((file) => relative(root, file))
      .filter((file) => !layout.test(file));

    expect(outside).toEqual([]);
    expect(unexpected).toEqual([]);
    expect(await readdir(join(parent, "sibling"))).toEqual([]);
  });
});

describe("reopening the store", () => {
  it("shows the same objects, metadata and uploads after a restart", async () => {
    await current().client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "kept/report.json",
        Body: '{"pages":3}',
        ContentType: "application/json",
        Metadata: { source: "test" },
      }),
    );
    const created = await current().client.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "kept/pending" }),
    );
    const part = await current().client.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: "kept/pending",
        UploadId: created.UploadId,
        PartNumber: 1,
        Body: "part",
      }),
    );
    const before = await current().client.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: "kept/report.json" }),
    );

    await current().close();
    server = await startS3(root);
    const after = await current().client.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: "kept/report.json" }),
    );
    const uploads = await current().client.send(
      new ListMultipartUploadsCommand({ Bucket: BUCKET }),
    );
    const completed = await current().client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: "kept/pending",
        UploadId: created.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );

    expect(await readText("kept/report.json")).toBe('{"pages":3}');
    expect(after.ETag).toBe(before.ETag);
    expect(after.ContentType).toBe("application/json");
    expect(after.Metadata).toEqual({ source: "test" });
    expect(after.LastModified?.getTime()).toBe(before.LastModified?.getTime());
    expect(uploads.Uploads?.map((upload) => upload.UploadId)).toEqual([created.UploadId]);
    expect(completed.ETag).toMatch(/-1"$/);
    expect(await readText("kept/pending")).toBe("part");
  });

  it("removes scratch files and orphaned data files left by a crash", async () => {
    await current().client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "survivor", Body: "still here" }),
    );
    await current().close();
    server = undefined;

    const objectsDir = join(root, "buckets", BUCKET, "objects");
    const [shard] = await readdir(objectsDir);
    await writeFile(
      join(objectsDir, shard, `${"f".repeat(64)}.crashed-0123456789abcdef.data`),
      "half a write",
    );
    await writeFile(join(root, "tmp", "in-flight.part"), "half a body");
    server = await startS3(root);

    const files = (await listFiles(root)).map((file) => relative(root, file));
    expect(await readText("survivor")).toBe("still here");
    expect(files.filter((file) => file.includes("crashed") || file.startsWith("tmp/"))).toEqual([]);
  });
});

describe("concurrent writes", () => {
  it("leaves one complete version after racing writes to one key", async () => {
    const bodies = Array.from({ length: 12 }, (_, index) =>
      `version ${index} `.repeat(1000 + index),
    );

    await Promise.all(
      bodies.map((body) =>
        current().client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "raced", Body: body })),
      ),
    );
    const text = await readText("raced");
    const dataFiles = (await listFiles(root)).filter((file) => file.endsWith(".data"));

    expect(bodies).toContain(text);
    expect(dataFiles).toHaveLength(1);
  });
});

describe("interrupted uploads", () => {
  it("leaves no object when the client aborts mid-body", async () => {
    await new Promise<void>((resolve) => {
      const outgoing = request({
        host: "127.0.0.1",
        port: current().port,
        method: "PUT",
        path: `/${BUCKET}/interrupted`,
        headers: { "content-length": 1024 * 1024 },
      });
      outgoing.on("error", () => resolve());
      outgoing.on("close", () => resolve());
      outgoing.write(Buffer.alloc(128 * 1024, 7), () => outgoing.destroy());
    });

    const error = await expectS3Error(
      current().client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "interrupted" })),
    );

    expect(error.$metadata.httpStatusCode).toBe(404);
    expect(await scratchFiles()).toEqual([]);
  });

  it("keeps the previous object when an overwrite is aborted", async () => {
    await current().client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "stable", Body: "old version" }),
    );

    await new Promise<void>((resolve) => {
      const outgoing = request({
        host: "127.0.0.1",
        port: current().port,
        method: "PUT",
        path: `/${BUCKET}/stable`,
        headers: { "content-length": 1024 * 1024 },
      });
      outgoing.on("error", () => resolve());
      outgoing.on("close", () => resolve());
      outgoing.write(Buffer.alloc(64 * 1024, 9), () => outgoing.destroy());
    });

    expect(await readText("stable")).toBe("old version");
    expect(await scratchFiles()).toEqual([]);
  });
});

describe("aws-chunked bodies", () => {
  function chunkedBody(payload: Buffer, trailer: string | undefined): string {
    const half = Math.floor(payload.length / 2);
    const chunks = [payload.subarray(0, half), payload.subarray(half)];
    let text = chunks
      .map((chunk) => `${chunk.length.toString(16)}\r\n${chunk.toString("latin1")}\r\n`)
      .join("");
    text += "0\r\n";
    if (trailer !== undefined) text += `x-amz-checksum-crc32:${trailer}\r\n\r\n`;
    return text;
  }

  function crc32Base64(payload: Buffer): string {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(crc32(payload));
    return bytes.toString("base64");
  }

  const chunkedHeaders = (payload: Buffer, body: string) => ({
    "content-encoding": "aws-chunked",
    "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "x-amz-decoded-content-length": payload.length,
    "x-amz-trailer": "x-amz-checksum-crc32",
    "content-length": Buffer.byteLength(body, "latin1"),
  });

  it("stores the decoded payload and checks the trailing CRC32", async () => {
    const payload = Buffer.from("payload sent in aws-chunked encoding");
    const body = chunkedBody(payload, crc32Base64(payload));

    const response = await rawPut(
      `/${BUCKET}/chunked-ok`,
      chunkedHeaders(payload, body),
      (outgoing) => outgoing.end(body, "latin1"),
    );

    expect(response.status).toBe(200);
    expect(await readText("chunked-ok")).toBe(payload.toString());
  });

  it("rejects a wrong trailing checksum with BadDigest", async () => {
    const payload = Buffer.from("payload with a wrong trailer");
    const body = chunkedBody(payload, "AAAAAA==");

    const response = await rawPut(
      `/${BUCKET}/chunked-bad`,
      chunkedHeaders(payload, body),
      (outgoing) => outgoing.end(body, "latin1"),
    );
    const missing = await expectS3Error(
      current().client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "chunked-bad" })),
    );

    expect(response.status).toBe(400);
    expect(response.body).toContain("<Code>BadDigest</Code>");
    expect(missing.$metadata.httpStatusCode).toBe(404);
  });

  it("rejects a body cut off before its final chunk", async () => {
    const payload = Buffer.from("payload that never finishes");
    const body = `${payload.length.toString(16)}\r\n${payload.toString("latin1").slice(0, 5)}`;

    const response = await rawPut(
      `/${BUCKET}/chunked-cut`,
      chunkedHeaders(payload, body),
      (outgoing) => outgoing.end(body, "latin1"),
    );

    expect(response.status).toBe(400);
    expect(response.body).toContain("<Code>IncompleteBody</Code>");
  });

  it("decodes a streamed UploadPart sent by the SDK", async () => {
    const created = await current().client.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "streamed-part" }),
    );
    const payload = Buffer.alloc(300_000, 5);

    const part = await current().client.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: "streamed-part",
        UploadId: created.UploadId,
        PartNumber: 1,
        Body: Readable.from([payload.subarray(0, 100_000), payload.subarray(100_000)]),
        ContentLength: payload.length,
      }),
    );
    await current().client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: "streamed-part",
        UploadId: created.UploadId,
        MultipartUpload: {
          Parts: [{ PartNumber: 1, ETag: part.ETag, ChecksumCRC32: part.ChecksumCRC32 }],
        },
      }),
    );
    const got = await current().client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: "streamed-part" }),
    );
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);

    expect(part.ChecksumCRC32).toBe(crc32Base64(payload));
    expect(bytes.equals(payload)).toBe(true);
  });
});
