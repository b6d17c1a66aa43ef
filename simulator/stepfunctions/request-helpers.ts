/**
 * Helpers shared by the API operations: required fields, pagination tokens,
 * revision ids and timestamps in epoch seconds.
 */
import { createHash } from "node:crypto";
import { apiErrors } from "./errors.ts";

/** A decoded request or response body. */
export type Input = Record<string, unknown>;

/** Converts epoch milliseconds to the epoch seconds AWS JSON 1.0 carries. */
export const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

export function revisionOf(definition: string, roleArn: string): string {
  return createHash("sha256").update(definition).update(roleArn).digest("hex").slice(0, 32);
}

export function requireString(input: Input, field: string): string {
  const value = input[field];
  if (typeof value !== "string" || value.length === 0) {
    throw apiErrors.validation(
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

/** Pages `items` with a nextToken that encodes the offset. */
export function paginate<T>(
  items: T[],
  input: Input,
  max: number,
  defaultSize: number,
): { items: T[]; nextToken?: string } {
  const requested = input.maxResults as number | undefined;
  if (
    requested !== undefined &&
    (!Number.isInteger(requested) || requested < 0 || requested > max)
  ) {
    throw apiErrors.validation(
      `1 validation error detected: Value '${requested}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${max}`,
    );
  }
  const size = requested === undefined || requested === 0 ? defaultSize : requested;
  let offset = 0;
  if (typeof input.nextToken === "string") {
    const decoded = Number(
      Buffer.from(input.nextToken, "base64url")
        .toString("utf8")
        .replace(/^offset:/, ""),
    );
    if (!Number.isInteger(decoded) || decoded < 0)
      throw apiErrors.invalidToken(`Invalid Token: '${input.nextToken}'`);
    offset = decoded;
  }
  const pageItems = items.slice(offset, offset + size);
  const nextOffset = offset + size;
  return {
    items: pageItems,
    nextToken:
      nextOffset < items.length
        ? Buffer.from(`offset:${nextOffset}`).toString("base64url")
        : undefined,
  };
}
