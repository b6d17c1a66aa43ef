import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir, type S3Server, startS3 } from "./s3-harness.ts";

let server: S3Server;
let root: string;
let etag: string;
let lastModified: Date;
const BUCKET = "reads-bucket";
const KEY = "alphabet.txt";
const BODY = "abcdefghijklmnopqrstuvwxyz";

beforeAll(async () => {
  root = await makeTempDir("reads");
  server = await startS3(root);
  await server.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const put = await server.client.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: BODY }),
  );
  etag = put.ETag as string;
  const head = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: KEY }));
  lastModified = head.LastModified as Date;
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

async function getRange(range: string) {
  const got = await server.client.send(
    new GetObjectCommand({ Bucket: BUCKET, Key: KEY, Range: range }),
  );
  return { got, text: await got.Body?.transformToString() };
}

describe("ranged reads", () => {
  it("returns a closed range as 206 with Content-Range", async () => {
    const { got, text } = await getRange("bytes=2-5");

    expect(got.$metadata.httpStatusCode).toBe(206);
    expect(text).toBe("cdef");
    expect(got.ContentRange).toBe("bytes 2-5/26");
    expect(got.ContentLength).toBe(4);
  });

  it("returns an open range to the end", async () => {
    const { got, text } = await getRange("bytes=20-");

    expect(text).toBe("uvwxyz");
    expect(got.ContentRange).toBe("bytes 20-25/26");
  });

  it("returns a suffix range of the last bytes", async () => {
    const { got, text } = await getRange("bytes=-3");

    expect(text).toBe("xyz");
    expect(got.ContentRange).toBe("bytes 23-25/26");
  });

  it("clamps a range end past the object and a suffix longer than it", async () => {
    const clamped = await getRange("bytes=24-1000");
    const longSuffix = await getRange("bytes=-1000");

    expect(clamped.text).toBe("yz");
    expect(clamped.got.ContentRange).toBe("bytes 24-25/26");
    expect(longSuffix.text).toBe(BODY);
    expect(longSuffix.got.ContentRange).toBe("bytes 0-25/26");
  });

  it("rejects a range starting past the end with 416 InvalidRange", async () => {
    const error = await expectS3Error(getRange("bytes=26-30"));

    expect(error.name).toBe("InvalidRange");
    expect(error.$metadata.httpStatusCode).toBe(416);
  });

  it("ignores a malformed range and returns the whole object", async () => {
    const { got, text } = await getRange("bytes=5-2");

    expect(got.$metadata.httpStatusCode).toBe(200);
    expect(text).toBe(BODY);
  });

  it("sends Content-Range and 416 on the wire for an unsatisfiable range", async () => {
    const response = await fetch(`${server.endpoint}/${BUCKET}/${KEY}`, {
      headers: { range: "bytes=100-" },
    });
    const body = await response.text();

    expect(response.status).toBe(416);
    expect(response.headers.get("content-range")).toBe("bytes */26");
    expect(body).toContain("<Code>InvalidRange</Code>");
    expect(body).toContain("<RequestId>");
  });
});

describe("conditional reads", () => {
  it("returns the object when If-Match matches", async () => {
    const got = await server.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: KEY, IfMatch: etag }),
    );

    expect(await got.Body?.transformToString()).toBe(BODY);
  });

  it("fails with 412 PreconditionFailed when If-Match differs", async () => {
    const error = await expectS3Error(
      server.client.send(
        new GetObjectCommand({
          Bucket: BUCKET,
          Key: KEY,
          IfMatch: '"ffffffffffffffffffffffffffffffff"',
        }),
      ),
    );

    expect(error.name).toBe("PreconditionFailed");
    expect(error.$metadata.httpStatusCode).toBe(412);
  });

  it("answers 304 when If-None-Match matches", async () => {
    const error = await expectS3Error(
      server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY, IfNoneMatch: etag })),
    );

    expect(error.$metadata.httpStatusCode).toBe(304);
  });

  it("answers 304 when not modified since a later date", async () => {
    const later = new Date(lastModified.getTime() + 60_000);

    const error = await expectS3Error(
      server.client.send(
        new GetObjectCommand({ Bucket: BUCKET, Key: KEY, IfModifiedSince: later }),
      ),
    );

    expect(error.$metadata.httpStatusCode).toBe(304);
  });

  it("returns the object when modified since an earlier date", async () => {
    const earlier = new Date(lastModified.getTime() - 60_000);

    const got = await server.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: KEY, IfModifiedSince: earlier }),
    );

    expect(await got.Body?.transformToString()).toBe(BODY);
  });

  it("fails with 412 when modified after If-Unmodified-Since", async () => {
    const earlier = new Date(lastModified.getTime() - 60_000);

    const error = await expectS3Error(
      server.client.send(
        new GetObjectCommand({ Bucket: BUCKET, Key: KEY, IfUnmodifiedSince: earlier }),
      ),
    );

    expect(error.name).toBe("PreconditionFailed");
    expect(error.$metadata.httpStatusCode).toBe(412);
  });

  it("lets a true If-Match override a false If-Unmodified-Since", async () => {
    const earlier = new Date(lastModified.getTime() - 60_000);

    const got = await server.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: KEY, IfMatch: etag, IfUnmodifiedSince: earlier }),
    );

    expect(got.$metadata.httpStatusCode).toBe(200);
  });

  it("answers 304 for a false If-None-Match with a true If-Modified-Since", async () => {
    const earlier = new Date(lastModified.getTime() - 60_000);

    const error = await expectS3Error(
      server.client.send(
        new GetObjectCommand({
          Bucket: BUCKET,
          Key: KEY,
          IfNoneMatch: etag,
          IfModifiedSince: earlier,
        }),
      ),
    );

    expect(error.$metadata.httpStatusCode).toBe(304);
  });

  it("applies the same conditions to HeadObject", async () => {
    const error = await expectS3Error(
      server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: KEY, IfMatch: '"0000"' })),
    );

    expect(error.$metadata.httpStatusCode).toBe(412);
  });
});

describe("conditional writes", () => {
  it("creates with If-None-Match: * only when the key is absent", async () => {
    await server.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "create-once", Body: "1", IfNoneMatch: "*" }),
    );

    const error = await expectS3Error(
      server.client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: "create-once", Body: "2", IfNoneMatch: "*" }),
      ),
    );
    const got = await server.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: "create-once" }),
    );

    expect(error.name).toBe("PreconditionFailed");
    expect(await got.Body?.transformToString()).toBe("1");
  });
});

describe("response details", () => {
  it("overrides response headers from response-* parameters", async () => {
    const got = await server.client.send(
      new GetObjectCommand({
        Bucket: BUCKET,
        Key: KEY,
        ResponseContentType: "text/csv",
        ResponseContentDisposition: 'attachment; filename="letters.csv"',
        ResponseCacheControl: "no-store",
      }),
    );

    expect(got.ContentType).toBe("text/csv");
    expect(got.ContentDisposition).toBe('attachment; filename="letters.csv"');
    expect(got.CacheControl).toBe("no-store");
  });

  it("sends a request id on every response", async () => {
    const response = await fetch(`${server.endpoint}/${BUCKET}/${KEY}`);
    await response.arrayBuffer();

    expect(response.status).toBe(200);
    expect(response.headers.get("x-amz-request-id")).toMatch(/^[0-9A-F]{16}$/);
    expect(response.headers.get("etag")).toBe(etag);
    expect(response.headers.get("accept-ranges")).toBe("bytes");
  });

  it("sends AWS's XML error body for a missing key", async () => {
    const response = await fetch(`${server.endpoint}/${BUCKET}/missing%20key`);
    const body = await response.text();

    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toContain("application/xml");
    expect(body).toContain("<Code>NoSuchKey</Code>");
    expect(body).toContain("<Message>The specified key does not exist.</Message>");
    expect(body).toContain("<Key>missing key</Key>");
    expect(body).toContain(`<RequestId>${response.headers.get("x-amz-request-id")}</RequestId>`);
  });
});
