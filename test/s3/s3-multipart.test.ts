import { createHash, randomBytes } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir, type S3Server, startS3 } from "./s3-harness.ts";

let server: S3Server;
let root: string;
const BUCKET = "multipart-bucket";
const MIB = 1024 * 1024;

beforeAll(async () => {
  root = await makeTempDir("multipart");
  server = await startS3(root);
  await server.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  await server?.close();
  await removeDir(root);
});

async function expectS3Error(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) return error;
    throw error;
  }
  throw new Error("expected the request to fail, but it succeeded");
}

function md5(data: Buffer): Buffer {
  return createHash("md5").update(data).digest();
}

/** Computes the multipart ETag as S3 does: the MD5 of the concatenated part MD5s, then -N. */
function multipartEtag(parts: Buffer[]): string {
  const joined = Buffer.concat(parts.map((part) => md5(part)));
  return `"${md5(joined).toString("hex")}-${parts.length}"`;
}

async function createUpload(key: string): Promise<string> {
  const created = await server.client.send(
    new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }),
  );
  return created.UploadId as string;
}

async function uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer) {
  const result = await server.client.send(
    new UploadPartCommand({
      Bucket: BUCKET,
      Key: key,
      UploadId: uploadId,
      PartNumber: partNumber,
      Body: body,
    }),
  );
  return {
    PartNumber: partNumber,
    ETag: result.ETag as string,
    ChecksumCRC32: result.ChecksumCRC32,
  };
}

describe("lib-storage Upload", () => {
  it("uploads a 21 MiB body in parts and reads back the same bytes", async () => {
    const body = randomBytes(21 * MIB);
    const partSize = 5 * MIB;
    const expectedParts = [0, 1, 2, 3, 4].map((index) =>
      body.subarray(index * partSize, (index + 1) * partSize),
    );

    const upload = new Upload({
      client: server.client,
      params: {
        Bucket: BUCKET,
        Key: "big/21mib.bin",
        Body: body,
        ContentType: "application/x-test",
        Metadata: { kind: "big" },
      },
      partSize,
      queueSize: 3,
    });
    const result = await upload.done();
    const head = await server.client.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: "big/21mib.bin" }),
    );
    const got = await server.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: "big/21mib.bin" }),
    );
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);

    expect(result.ETag).toBe(multipartEtag(expectedParts));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ContentType).toBe("application/x-test");
    expect(head.Metadata).toEqual({ kind: "big" });
    expect(md5(bytes).equals(md5(body))).toBe(true);
  });

  it("reads one part with partNumber and reports the part count", async () => {
    const part = await server.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: "big/21mib.bin", PartNumber: 2 }),
    );
    const bytes = Buffer.from((await part.Body?.transformToByteArray()) ?? []);

    expect(part.$metadata.httpStatusCode).toBe(206);
    expect(part.PartsCount).toBe(5);
    expect(part.ContentRange).toBe(`bytes ${5 * MIB}-${10 * MIB - 1}/${21 * MIB}`);
    expect(bytes.length).toBe(5 * MIB);
  });

  it("gives the object a composite CRC32 checksum built from the part checksums", async () => {
    const head = await server.client.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: "big/21mib.bin", ChecksumMode: "ENABLED" }),
    );

    expect(head.ChecksumCRC32).toMatch(/^[A-Za-z0-9+/]{6}==-5$/);
    expect(head.ChecksumType).toBe("COMPOSITE");
  });
});

describe("multipart upload operations", () => {
  it("completes parts uploaded out of order and computes the md5-of-md5s ETag", async () => {
    const key = "manual/object";
    const uploadId = await createUpload(key);
    const first = randomBytes(5 * MIB);
    const second = Buffer.from("the short last part");

    const part2 = await uploadPart(key, uploadId, 2, second);
    const part1 = await uploadPart(key, uploadId, 1, first);
    const completed = await server.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [part1, part2] },
      }),
    );
    const got = await server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);

    expect(part1.ETag).toBe(`"${md5(first).toString("hex")}"`);
    expect(completed.ETag).toBe(multipartEtag([first, second]));
    expect(completed.Key).toBe(key);
    expect(completed.Location).toContain(`/${BUCKET}/manual/object`);
    expect(bytes.equals(Buffer.concat([first, second]))).toBe(true);
  });

  it("lists parts and uploads in progress, then aborts", async () => {
    const key = "manual/listed";
    const uploadId = await createUpload(key);
    await uploadPart(key, uploadId, 1, Buffer.from("one"));
    await uploadPart(key, uploadId, 3, Buffer.from("three"));

    const parts = await server.client.send(
      new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }),
    );
    const uploads = await server.client.send(
      new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: "manual/" }),
    );
    await server.client.send(
      new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }),
    );
    const afterAbort = await server.client.send(
      new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: "manual/" }),
    );
    const error = await expectS3Error(
      server.client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId })),
    );

    expect(parts.Parts?.map((part) => [part.PartNumber, part.Size])).toEqual([
      [1, 3],
      [3, 5],
    ]);
    expect(uploads.Uploads?.map((upload) => upload.UploadId)).toContain(uploadId);
    expect(afterAbort.Uploads?.map((upload) => upload.UploadId) ?? []).not.toContain(uploadId);
    expect(error.name).toBe("NoSuchUpload");
    expect(error.$metadata.httpStatusCode).toBe(404);
  });

  it("rejects an unknown upload id with NoSuchUpload", async () => {
    const error = await expectS3Error(
      server.client.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: "x",
          UploadId: "no-such-upload-id-at-all",
          PartNumber: 1,
          Body: "x",
        }),
      ),
    );

    expect(error.name).toBe("NoSuchUpload");
    expect(error.$metadata.httpStatusCode).toBe(404);
  });

  it("rejects a wrong part ETag with InvalidPart", async () => {
    const key = "manual/invalid-part";
    const uploadId = await createUpload(key);
    await uploadPart(key, uploadId, 1, Buffer.from("only"));

    const error = await expectS3Error(
      server.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: [{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }],
          },
        }),
      ),
    );

    expect(error.name).toBe("InvalidPart");
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it("rejects a part that was never uploaded with InvalidPart", async () => {
    const key = "manual/missing-part";
    const uploadId = await createUpload(key);
    const part1 = await uploadPart(key, uploadId, 1, Buffer.from("only"));

    const error = await expectS3Error(
      server.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: [part1, { PartNumber: 2, ETag: part1.ETag }] },
        }),
      ),
    );

    expect(error.name).toBe("InvalidPart");
  });

  it("rejects parts listed out of order with InvalidPartOrder", async () => {
    const key = "manual/order";
    const uploadId = await createUpload(key);
    const part1 = await uploadPart(key, uploadId, 1, randomBytes(5 * MIB));
    const part2 = await uploadPart(key, uploadId, 2, Buffer.from("tail"));

    const error = await expectS3Error(
      server.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: [part2, part1] },
        }),
      ),
    );

    expect(error.name).toBe("InvalidPartOrder");
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it("rejects a non-last part under 5 MiB with EntityTooSmall", async () => {
    const key = "manual/small";
    const uploadId = await createUpload(key);
    const part1 = await uploadPart(key, uploadId, 1, Buffer.alloc(5 * MIB - 1));
    const part2 = await uploadPart(key, uploadId, 2, Buffer.from("tail"));

    const error = await expectS3Error(
      server.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: [part1, part2] },
        }),
      ),
    );

    expect(error.name).toBe("EntityTooSmall");
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it("rejects a malformed completion document with MalformedXML", async () => {
    const key = "manual/malformed";
    const uploadId = await createUpload(key);

    const response = await fetch(`${server.endpoint}/${BUCKET}/${key}?uploadId=${uploadId}`, {
      method: "POST",
      body: "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>",
    });
    const body = await response.text();

    expect(response.status).toBe(400);
    expect(body).toContain("<Code>MalformedXML</Code>");
  });

  it("rejects an empty part list with MalformedXML", async () => {
    const key = "manual/empty";
    const uploadId = await createUpload(key);

    const error = await expectS3Error(
      server.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: [] },
        }),
      ),
    );

    expect(error.name).toBe("MalformedXML");
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it("rejects a part whose CRC32 does not match with BadDigest", async () => {
    const key = "manual/bad-part-checksum";
    const uploadId = await createUpload(key);

    const error = await expectS3Error(
      server.client.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: uploadId,
          PartNumber: 1,
          Body: "part body",
          ChecksumCRC32: "AAAAAA==",
        }),
      ),
    );

    expect(error.name).toBe("BadDigest");
  });

  it("copies source ranges into parts with UploadPartCopy", async () => {
    const source = randomBytes(6 * MIB + 123);
    await server.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "copy/source.bin", Body: source }),
    );
    const key = "copy/assembled.bin";
    const uploadId = await createUpload(key);

    const first = await server.client.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        PartNumber: 1,
        CopySource: `${BUCKET}/copy/source.bin`,
        CopySourceRange: `bytes=0-${5 * MIB - 1}`,
      }),
    );
    const second = await server.client.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        PartNumber: 2,
        CopySource: `${BUCKET}/copy/source.bin`,
        CopySourceRange: `bytes=${5 * MIB}-${source.length - 1}`,
      }),
    );
    await server.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: first.CopyPartResult?.ETag },
            { PartNumber: 2, ETag: second.CopyPartResult?.ETag },
          ],
        },
      }),
    );
    const got = await server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);

    expect(first.CopyPartResult?.ETag).toBe(
      `"${md5(source.subarray(0, 5 * MIB)).toString("hex")}"`,
    );
    expect(bytes.equals(source)).toBe(true);
  });

  it("rejects a copy range past the source end with InvalidArgument", async () => {
    await server.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "copy/small", Body: "tiny" }),
    );
    const key = "copy/out-of-range";
    const uploadId = await createUpload(key);

    const error = await expectS3Error(
      server.client.send(
        new UploadPartCopyCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: uploadId,
          PartNumber: 1,
          CopySource: `${BUCKET}/copy/small`,
          CopySourceRange: "bytes=0-100",
        }),
      ),
    );

    expect(error.name).toBe("InvalidArgument");
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it("computes a FULL_OBJECT CRC32 that the SDK validates on GET", async () => {
    const key = "manual/full-object";
    const created = await server.client.send(
      new CreateMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        ChecksumAlgorithm: "CRC32",
        ChecksumType: "FULL_OBJECT",
      }),
    );
    const uploadId = created.UploadId as string;
    const first = randomBytes(5 * MIB);
    const second = randomBytes(1000);
    const part1 = await uploadPart(key, uploadId, 1, first);
    const part2 = await uploadPart(key, uploadId, 2, second);

    const completed = await server.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [part1, part2] },
      }),
    );
    const got = await server.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: "ENABLED" }),
    );
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);

    expect(created.ChecksumType).toBe("FULL_OBJECT");
    expect(completed.ChecksumCRC32).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    expect(got.ChecksumCRC32).toBe(completed.ChecksumCRC32);
    expect(got.ChecksumType).toBe("FULL_OBJECT");
    expect(bytes.equals(Buffer.concat([first, second]))).toBe(true);
  });

  it("rejects a wrong full-object checksum on completion with BadDigest", async () => {
    const key = "manual/full-object-bad";
    const created = await server.client.send(
      new CreateMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        ChecksumAlgorithm: "CRC32",
        ChecksumType: "FULL_OBJECT",
      }),
    );
    const uploadId = created.UploadId as string;
    const part1 = await uploadPart(key, uploadId, 1, Buffer.from("single part"));

    const error = await expectS3Error(
      server.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: uploadId,
          ChecksumCRC32: "AAAAAA==",
          ChecksumType: "FULL_OBJECT",
          MultipartUpload: { Parts: [part1] },
        }),
      ),
    );
    const missing = await expectS3Error(
      server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })),
    );

    expect(error.name).toBe("BadDigest");
    expect(missing.$metadata.httpStatusCode).toBe(404);
  });
});
