import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir, type S3Server, startS3 } from "./s3-harness.ts";

let server: S3Server;
let root: string;
const BUCKET = "objects-bucket";

beforeAll(async () => {
  root = await makeTempDir("objects");
  server = await startS3(root);
  await server.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  await server?.close();
  await removeDir(root);
});

/** Runs a command that must fail and returns the service error. */
async function expectS3Error(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) return error;
    throw error;
  }
  throw new Error("expected the request to fail, but it succeeded");
}

function md5Hex(data: Buffer | string): string {
  return createHash("md5").update(data).digest("hex");
}

describe("buckets", () => {
  it("creates, lists, heads and deletes a bucket", async () => {
    await server.client.send(new CreateBucketCommand({ Bucket: "short-lived" }));

    const listed = await server.client.send(new ListBucketsCommand({}));
    const head = await server.client.send(new HeadBucketCommand({ Bucket: "short-lived" }));
    await server.client.send(new DeleteBucketCommand({ Bucket: "short-lived" }));
    const after = await server.client.send(new ListBucketsCommand({}));

    expect(listed.Buckets?.map((bucket) => bucket.Name)).toContain("short-lived");
    expect(
      listed.Buckets?.find((bucket) => bucket.Name === "short-lived")?.CreationDate,
    ).toBeInstanceOf(Date);
    expect(head.$metadata.httpStatusCode).toBe(200);
    expect(after.Buckets?.map((bucket) => bucket.Name)).not.toContain("short-lived");
  });

  it("rejects creating a bucket twice with BucketAlreadyOwnedByYou", async () => {
    const error = await expectS3Error(
      server.client.send(new CreateBucketCommand({ Bucket: BUCKET })),
    );

    expect(error.name).toBe("BucketAlreadyOwnedByYou");
    expect(error.$metadata.httpStatusCode).toBe(409);
  });

  it("rejects invalid bucket names with InvalidBucketName", async () => {
    for (const name of [
      "ab",
      "Upper-Case",
      "-leading-hyphen",
      "two..dots",
      "192.168.5.4",
      "xn--reserved",
    ]) {
      const error = await expectS3Error(
        server.client.send(new CreateBucketCommand({ Bucket: name })),
      );
      expect(error.name, name).toBe("InvalidBucketName");
      expect(error.$metadata.httpStatusCode, name).toBe(400);
    }
  });

  it("rejects deleting a non-empty bucket with BucketNotEmpty", async () => {
    await server.client.send(new CreateBucketCommand({ Bucket: "not-empty" }));
    await server.client.send(new PutObjectCommand({ Bucket: "not-empty", Key: "x", Body: "x" }));

    const error = await expectS3Error(
      server.client.send(new DeleteBucketCommand({ Bucket: "not-empty" })),
    );

    expect(error.name).toBe("BucketNotEmpty");
    expect(error.$metadata.httpStatusCode).toBe(409);
  });

  it("reports a missing bucket as NoSuchBucket with a request id", async () => {
    const error = await expectS3Error(
      server.client.send(new GetObjectCommand({ Bucket: "no-such-bucket", Key: "k" })),
    );

    expect(error.name).toBe("NoSuchBucket");
    expect(error.$metadata.httpStatusCode).toBe(404);
    expect(error.$metadata.requestId).toMatch(/^[0-9A-F]{16}$/);
  });

  it("answers HeadBucket on a missing bucket with 404", async () => {
    const error = await expectS3Error(
      server.client.send(new HeadBucketCommand({ Bucket: "missing-bucket" })),
    );

    expect(error.$metadata.httpStatusCode).toBe(404);
  });
});

describe("bucket configuration", () => {
  it("reports us-east-1 and no versioning", async () => {
    const location = await server.client.send(new GetBucketLocationCommand({ Bucket: BUCKET }));
    const versioning = await server.client.send(new GetBucketVersioningCommand({ Bucket: BUCKET }));

    expect(location.LocationConstraint ?? "").toBe("");
    expect(versioning.Status).toBeUndefined();
    expect(versioning.$metadata.httpStatusCode).toBe(200);
  });

  it("rejects unsupported bucket configuration with NotImplemented", async () => {
    const error = await expectS3Error(
      server.client.send(
        new PutBucketTaggingCommand({
          Bucket: BUCKET,
          Tagging: { TagSet: [{ Key: "team", Value: "pdf" }] },
        }),
      ),
    );

    expect(error.name).toBe("NotImplemented");
    expect(error.$metadata.httpStatusCode).toBe(501);
  });
});

describe("put, get, head and delete", () => {
  it("round-trips bytes, content type, user metadata and the MD5 ETag", async () => {
    const body = Buffer.from("hello, warm world");

    const put = await server.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "docs/hello.txt",
        Body: body,
        ContentType: "text/plain",
        CacheControl: "max-age=60",
        Metadata: { owner: "pdf-split", "run-id": "42" },
      }),
    );
    const got = await server.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: "docs/hello.txt" }),
    );
    const text = await got.Body?.transformToString();

    expect(put.ETag).toBe(`"${md5Hex(body)}"`);
    expect(text).toBe("hello, warm world");
    expect(got.ContentType).toBe("text/plain");
    expect(got.CacheControl).toBe("max-age=60");
    expect(got.ContentLength).toBe(body.length);
    expect(got.Metadata).toEqual({ owner: "pdf-split", "run-id": "42" });
    expect(got.ETag).toBe(put.ETag);
    expect(got.LastModified).toBeInstanceOf(Date);
  });

  it("stores binary/octet-stream when no content type is sent", async () => {
    // The SDK always sends a content type, so this uses a plain HTTP request.
    const response = await fetch(`${server.endpoint}/${BUCKET}/untyped`, {
      method: "PUT",
      body: new Uint8Array([1, 2, 3]),
    });

    const head = await server.client.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: "untyped" }),
    );

    expect(response.status).toBe(200);
    expect(head.ContentType).toBe("binary/octet-stream");
    expect(head.ContentLength).toBe(3);
  });

  it("stores an empty object", async () => {
    await server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "empty", Body: "" }));

    const got = await server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "empty" }));

    expect(got.ContentLength).toBe(0);
    expect(await got.Body?.transformToString()).toBe("");
    expect(got.ETag).toBe(`"${md5Hex("")}"`);
  });

  it("replaces an object on a second put", async () => {
    await server.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "overwritten", Body: "first" }),
    );
    await server.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "overwritten", Body: "second!" }),
    );

    const got = await server.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: "overwritten" }),
    );

    expect(await got.Body?.transformToString()).toBe("second!");
  });

  it("deletes objects, and deleting a missing key succeeds", async () => {
    await server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "doomed", Body: "x" }));

    const first = await server.client.send(
      new DeleteObjectCommand({ Bucket: BUCKET, Key: "doomed" }),
    );
    const second = await server.client.send(
      new DeleteObjectCommand({ Bucket: BUCKET, Key: "doomed" }),
    );
    const error = await expectS3Error(
      server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "doomed" })),
    );

    expect(first.$metadata.httpStatusCode).toBe(204);
    expect(second.$metadata.httpStatusCode).toBe(204);
    expect(error.name).toBe("NoSuchKey");
    expect(error.$metadata.httpStatusCode).toBe(404);
  });

  it("answers HeadObject on a missing key with 404 NotFound", async () => {
    const error = await expectS3Error(
      server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "nothing" })),
    );

    expect(error.name).toBe("NotFound");
    expect(error.$metadata.httpStatusCode).toBe(404);
  });

  it("rejects a key longer than 1024 bytes with KeyTooLongError", async () => {
    const key = "é".repeat(513);

    const error = await expectS3Error(
      server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "x" })),
    );

    expect(error.name).toBe("KeyTooLongError");
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it("accepts a key of exactly 1024 bytes", async () => {
    const key = "k".repeat(1024);

    await server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "max" }));
    const got = await server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));

    expect(await got.Body?.transformToString()).toBe("max");
  });

  it("deletes many keys with DeleteObjects, and lists nothing in quiet mode", async () => {
    for (const key of ["batch/1", "batch/2", "batch/3"]) {
      await server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    }

    const verbose = await server.client.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: "batch/1" }, { Key: "batch/never-existed" }] },
      }),
    );
    const quiet = await server.client.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: "batch/2" }, { Key: "batch/3" }], Quiet: true },
      }),
    );
    const remaining = await expectS3Error(
      server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "batch/3" })),
    );

    expect(verbose.Deleted?.map((item) => item.Key).sort()).toEqual([
      "batch/1",
      "batch/never-existed",
    ]);
    expect(verbose.Errors ?? []).toEqual([]);
    expect(quiet.Deleted ?? []).toEqual([]);
    expect(remaining.$metadata.httpStatusCode).toBe(404);
  });
});

describe("copy", () => {
  it("copies bytes and metadata with the COPY directive", async () => {
    await server.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "copy/source",
        Body: "copy me",
        ContentType: "text/x-source",
        Metadata: { origin: "source" },
      }),
    );

    const copied = await server.client.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: "copy/target",
        CopySource: `${BUCKET}/copy/source`,
      }),
    );
    const got = await server.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: "copy/target" }),
    );

    expect(copied.CopyObjectResult?.ETag).toBe(`"${md5Hex("copy me")}"`);
    expect(copied.CopyObjectResult?.LastModified).toBeInstanceOf(Date);
    expect(await got.Body?.transformToString()).toBe("copy me");
    expect(got.ContentType).toBe("text/x-source");
    expect(got.Metadata).toEqual({ origin: "source" });
  });

  it("replaces metadata with the REPLACE directive, also onto itself", async () => {
    await server.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "copy/self",
        Body: "same",
        Metadata: { version: "1" },
      }),
    );

    await server.client.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: "copy/self",
        CopySource: `${BUCKET}/copy/self`,
        MetadataDirective: "REPLACE",
        ContentType: "application/json",
        Metadata: { version: "2" },
      }),
    );
    const head = await server.client.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: "copy/self" }),
    );

    expect(head.Metadata).toEqual({ version: "2" });
    expect(head.ContentType).toBe("application/json");
  });

  it("rejects copying an object onto itself without changes", async () => {
    const error = await expectS3Error(
      server.client.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: "copy/self",
          CopySource: `${BUCKET}/copy/self`,
        }),
      ),
    );

    expect(error.name).toBe("InvalidRequest");
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it("copies keys that need URL encoding in the copy source", async () => {
    const sourceKey = "copy/with space & ü/../x";
    await server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: sourceKey, Body: "odd" }));

    await server.client.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: "copy/odd-target",
        CopySource: encodeURIComponent(`${BUCKET}/${sourceKey}`),
      }),
    );
    const got = await server.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: "copy/odd-target" }),
    );

    expect(await got.Body?.transformToString()).toBe("odd");
  });

  it("fails with PreconditionFailed when the copy source ETag does not match", async () => {
    const error = await expectS3Error(
      server.client.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: "copy/never",
          CopySource: `${BUCKET}/copy/source`,
          CopySourceIfMatch: '"0123456789abcdef0123456789abcdef"',
        }),
      ),
    );

    expect(error.name).toBe("PreconditionFailed");
    expect(error.$metadata.httpStatusCode).toBe(412);
  });

  it("reports a missing copy source as NoSuchKey", async () => {
    const error = await expectS3Error(
      server.client.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: "copy/x",
          CopySource: `${BUCKET}/copy/missing`,
        }),
      ),
    );

    expect(error.name).toBe("NoSuchKey");
  });
});

describe("integrity checks", () => {
  it("accepts a correct Content-MD5", async () => {
    const body = Buffer.from("checked body");
    const contentMd5 = createHash("md5").update(body).digest("base64");

    const put = await server.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "md5/ok", Body: body, ContentMD5: contentMd5 }),
    );

    expect(put.ETag).toBe(`"${md5Hex(body)}"`);
  });

  it("rejects a wrong Content-MD5 with BadDigest and stores nothing", async () => {
    const wrong = createHash("md5").update("other bytes").digest("base64");

    const error = await expectS3Error(
      server.client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: "md5/bad",
          Body: "actual bytes",
          ContentMD5: wrong,
        }),
      ),
    );
    const missing = await expectS3Error(
      server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "md5/bad" })),
    );

    expect(error.name).toBe("BadDigest");
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(missing.$metadata.httpStatusCode).toBe(404);
  });

  it("rejects a wrong x-amz-checksum-crc32 with BadDigest", async () => {
    const error = await expectS3Error(
      server.client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: "crc/bad",
          Body: "crc body",
          ChecksumCRC32: "AAAAAA==",
        }),
      ),
    );

    expect(error.name).toBe("BadDigest");
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it("stores the SDK's default CRC32 and returns it when checksum mode is on", async () => {
    const put = await server.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "crc/ok", Body: "123456789" }),
    );

    const got = await server.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: "crc/ok", ChecksumMode: "ENABLED" }),
    );

    // CRC-32 of "123456789" is the standard check value 0xCBF43926.
    expect(put.ChecksumCRC32).toBe(Buffer.from("cbf43926", "hex").toString("base64"));
    expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32);
    expect(await got.Body?.transformToString()).toBe("123456789");
  });

  it("decodes an aws-chunked stream body with a trailing checksum", async () => {
    const parts = [Buffer.alloc(70_000, 1), Buffer.alloc(3, 2), Buffer.alloc(100_001, 3)];
    const whole = Buffer.concat(parts);

    const put = await server.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "chunked",
        Body: Readable.from(parts),
        ContentLength: whole.length,
      }),
    );
    const got = await server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "chunked" }));
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);

    expect(put.ETag).toBe(`"${md5Hex(whole)}"`);
    expect(bytes.equals(whole)).toBe(true);
  });

  it("verifies CRC32C, SHA1, SHA256 and CRC64NVME checksums the client chooses", async () => {
    for (const algorithm of ["CRC32C", "SHA1", "SHA256", "CRC64NVME"] as const) {
      const put = await server.client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: `algo/${algorithm}`,
          Body: "123456789",
          ChecksumAlgorithm: algorithm,
        }),
      );
      const field = `Checksum${algorithm}` as const;
      expect(put[field], algorithm).toBeTypeOf("string");

      const error = await expectS3Error(
        server.client.send(
          new PutObjectCommand({
            Bucket: BUCKET,
            Key: `algo/bad-${algorithm}`,
            Body: "123456789",
            [field]: put[field]?.replace(/^./, (c) => (c === "A" ? "B" : "A")),
          }),
        ),
      );
      expect(error.name, algorithm).toBe("BadDigest");
    }
  });
});
