import { invalidBucketName, keyTooLong } from "./errors.ts";

/**
 * Maximum length of an object key, in UTF-8 bytes.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
 */
export const MAX_KEY_BYTES = 1024;

/** Throws KeyTooLongError when a key is longer than S3 allows. */
export function assertValidKey(key: string): void {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw keyTooLong(key, MAX_KEY_BYTES);
}

/**
 * Returns why a bucket name breaks S3's general purpose bucket naming
 * rules, or undefined when it is valid. A valid name has 3 to 63 lower-case
 * letters, digits, dots and hyphens, and starts and ends with a letter or
 * digit. It has no adjacent dots, is not shaped like an IP address, and has
 * none of the reserved prefixes and suffixes.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return "it must be between 3 and 63 characters long";
  if (!/^[a-z0-9.-]+$/.test(name)) {
    return "it may contain only lower-case letters, digits, dots (.) and hyphens (-)";
  }
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return "it must begin and end with a letter or digit";
  if (name.includes("..")) return "it must not contain two adjacent dots";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "it must not be formatted as an IP address";
  for (const prefix of ["xn--", "sthree-", "amzn-s3-demo-"]) {
    if (name.startsWith(prefix)) return `it must not start with the reserved prefix "${prefix}"`;
  }
  for (const suffix of ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]) {
    if (name.endsWith(suffix)) return `it must not end with the reserved suffix "${suffix}"`;
  }
  return undefined;
}

/** Throws InvalidBucketName when a name breaks the naming rules. */
export function assertValidBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem) throw invalidBucketName(name, problem);
}
