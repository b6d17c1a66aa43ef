import {
  CreateBucketCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyIndex } from "../../simulator/s3/key-index.ts";
import { makeTempDir, removeDir, type S3Server, startS3 } from "./s3-harness.ts";

let server: S3Server;
let root: string;
const BUCKET = "listing-bucket";
const KEYS = [
  "a.txt",
  "photos/2024/jan/1.jpg",
  "photos/2024/jan/2.jpg",
  "photos/2024/feb/1.jpg",
  "photos/2025/mar/1.jpg",
  "photos/cover.jpg",
  "z/deep/er/key",
  "with space/and+plus.txt",
  "ünïcode/ключ.txt",
  "emoji/😀.txt",
  "emoji/\uFFFD.txt",
];

beforeAll(async () => {
  root = await makeTempDir("listing");
  server = await startS3(root);
  await server.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  for (const key of KEYS) {
    await server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
  }
});

afterAll(async () => {
  await server?.close();
  await removeDir(root);
});

/** Sorts keys as S3 lists them: by their UTF-8 bytes. */
function utf8Sorted(keys: string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Reference listing: the whole result of a prefix/delimiter listing, without paging. */
function referenceListing(
  keys: string[],
  prefix: string,
  delimiter: string,
): { keys: string[]; prefixes: string[] } {
  const result = { keys: [] as string[], prefixes: [] as string[] };
  for (const key of utf8Sorted(keys)) {
    if (!key.startsWith(prefix)) continue;
    const position = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (position === -1) result.keys.push(key);
    else {
      const common = key.slice(0, position + delimiter.length);
      if (!result.prefixes.includes(common)) result.prefixes.push(common);
    }
  }
  return result;
}

async function listAllV2(input: { Prefix?: string; Delimiter?: string; MaxKeys?: number }) {
  const keys: string[] = [];
  const prefixes: string[] = [];
  const pages: ListObjectsV2CommandOutput[] = [];
  let token: string | undefined;
  do {
    const page = await server.client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, ...input, ContinuationToken: token }),
    );
    pages.push(page);
    keys.push(...(page.Contents ?? []).map((object) => object.Key as string));
    prefixes.push(...(page.CommonPrefixes ?? []).map((common) => common.Prefix as string));
    token = page.NextContinuationToken;
  } while (token);
  return { keys, prefixes, pages };
}

describe("ListObjectsV2", () => {
  it("lists every key in UTF-8 byte order with sizes and ETags", async () => {
    const page = await server.client.send(new ListObjectsV2Command({ Bucket: BUCKET }));

    expect(page.Contents?.map((object) => object.Key)).toEqual(utf8Sorted(KEYS));
    expect(page.KeyCount).toBe(KEYS.length);
    expect(page.IsTruncated).toBe(false);
    expect(page.Contents?.[0].Size).toBe(Buffer.byteLength(utf8Sorted(KEYS)[0]));
    expect(page.Contents?.[0].ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(page.Contents?.[0].StorageClass).toBe("STANDARD");
  });

  it("filters by prefix", async () => {
    const page = await server.client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "photos/2024/" }),
    );

    expect(page.Contents?.map((object) => object.Key)).toEqual([
      "photos/2024/feb/1.jpg",
      "photos/2024/jan/1.jpg",
      "photos/2024/jan/2.jpg",
    ]);
    expect(page.Prefix).toBe("photos/2024/");
  });

  it("rolls keys up into CommonPrefixes with a delimiter", async () => {
    const page = await server.client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "photos/", Delimiter: "/" }),
    );

    expect(page.Contents?.map((object) => object.Key)).toEqual(["photos/cover.jpg"]);
    expect(page.CommonPrefixes?.map((common) => common.Prefix)).toEqual([
      "photos/2024/",
      "photos/2025/",
    ]);
    expect(page.KeyCount).toBe(3);
    expect(page.Delimiter).toBe("/");
  });

  it("pages with max-keys and continuation tokens, counting prefixes once", async () => {
    const listed = await listAllV2({ Delimiter: "/", MaxKeys: 2 });
    const expected = referenceListing(KEYS, "", "/");

    expect(listed.keys).toEqual(expected.keys);
    expect(listed.prefixes).toEqual(expected.prefixes);
    expect(listed.pages.slice(0, -1).every((page) => page.IsTruncated && page.KeyCount === 2)).toBe(
      true,
    );
    expect(listed.pages.at(-1)?.IsTruncated).toBe(false);
  });

  it("starts after a key with start-after", async () => {
    const page = await server.client.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: "photos/",
        StartAfter: "photos/2024/jan/1.jpg",
      }),
    );

    expect(page.Contents?.map((object) => object.Key)).toEqual([
      "photos/2024/jan/2.jpg",
      "photos/2025/mar/1.jpg",
      "photos/cover.jpg",
    ]);
    expect(page.StartAfter).toBe("photos/2024/jan/1.jpg");
  });

  it("URL-encodes names with encoding-type=url", async () => {
    const page = await server.client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "with space/", EncodingType: "url" }),
    );

    expect(page.EncodingType).toBe("url");
    expect(page.Contents?.map((object) => object.Key)).toEqual(["with+space%2Fand%2Bplus.txt"]);
    expect(decodeURIComponent((page.Contents?.[0]?.Key ?? "").replace(/\+/g, " "))).toBe(
      "with space/and+plus.txt",
    );
  });

  it("returns an empty truncated-free page for max-keys beyond the keys", async () => {
    const page = await server.client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "nothing/" }),
    );

    expect(page.Contents ?? []).toEqual([]);
    expect(page.KeyCount).toBe(0);
    expect(page.IsTruncated).toBe(false);
  });

  it("rejects an invalid continuation token with InvalidArgument", async () => {
    let error: unknown;
    try {
      await server.client.send(
        new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: "bm90LW91cnM=" }),
      );
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(S3ServiceException);
    expect((error as S3ServiceException).name).toBe("InvalidArgument");
    expect((error as S3ServiceException).$metadata.httpStatusCode).toBe(400);
  });
});

describe("ListObjects version 1", () => {
  it("pages with Marker and NextMarker when a delimiter is given", async () => {
    const keys: string[] = [];
    const prefixes: string[] = [];
    let marker: string | undefined;
    for (let pageCount = 0; pageCount < 20; pageCount++) {
      const page = await server.client.send(
        new ListObjectsCommand({ Bucket: BUCKET, Delimiter: "/", MaxKeys: 3, Marker: marker }),
      );
      keys.push(...(page.Contents ?? []).map((object) => object.Key as string));
      prefixes.push(...(page.CommonPrefixes ?? []).map((common) => common.Prefix as string));
      if (!page.IsTruncated) break;
      marker = page.NextMarker;
      expect(marker).toBeTypeOf("string");
    }

    const expected = referenceListing(KEYS, "", "/");
    expect(keys).toEqual(expected.keys);
    expect(prefixes).toEqual(expected.prefixes);
  });
});

describe("key index at scale", () => {
  // Random keys over a small alphabet with many shared prefixes and some
  // characters whose UTF-16 and UTF-8 orders differ.
  function randomKeys(count: number): string[] {
    const alphabet = ["a", "b", "/", "-", "é", "😀", "\uFFFD", "z"];
    // mulberry32, a small deterministic generator.
    let seed = 12345;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const keys = new Set<string>();
    while (keys.size < count) {
      let key = "";
      const length = 1 + Math.floor(random() * 12);
      for (let i = 0; i < length; i++) key += alphabet[Math.floor(random() * alphabet.length)];
      keys.add(key);
    }
    return [...keys];
  }

  function pageThrough(
    index: KeyIndex<string>,
    prefix: string,
    delimiter: string,
    maxKeys: number,
  ) {
    const result = { keys: [] as string[], prefixes: [] as string[] };
    let after: string | undefined;
    for (;;) {
      const page = index.list({ prefix, delimiter, after, maxKeys });
      result.keys.push(...page.objects);
      result.prefixes.push(...page.commonPrefixes);
      if (!page.isTruncated) return result;
      after = page.lastItem;
    }
  }

  it("pages 30,000 keys exactly like a full reference listing", () => {
    const keys = randomKeys(30_000);
    const index = new KeyIndex<string>();
    index.load(keys.slice(0, 20_000).map((key) => [key, key]));
    for (const key of keys.slice(20_000)) index.set(key, key);

    for (const [prefix, delimiter, maxKeys] of [
      ["", "", 1000],
      ["", "/", 997],
      ["a", "/", 50],
      ["b/", "-", 7],
      ["é", "😀", 13],
    ] as const) {
      const listed = pageThrough(index, prefix, delimiter, maxKeys);
      const expected = referenceListing(keys, prefix, delimiter);
      expect(listed.keys, `${prefix} ${delimiter}`).toEqual(expected.keys);
      expect(listed.prefixes, `${prefix} ${delimiter}`).toEqual(expected.prefixes);
    }
  });

  it("keeps order through deletes and re-inserts", () => {
    const keys = randomKeys(5_000);
    const index = new KeyIndex<string>();
    for (const key of keys) index.set(key, key);
    const removed = keys.filter((_, position) => position % 3 === 0);
    for (const key of removed) index.delete(key);

    const listed = pageThrough(index, "", "", 1000);

    expect(index.size).toBe(keys.length - removed.length);
    expect(listed.keys).toEqual(utf8Sorted(keys.filter((_, position) => position % 3 !== 0)));
  });
});
