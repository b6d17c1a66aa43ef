import { appendFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { parseFunctionReference } from "../api/function-name.ts";

/** Condition under which a destination received a record, as Lambda names it. */
export type DestinationCondition = "Success" | "RetriesExhausted" | "EventAgeExceeded";

/**
 * The invocation record Lambda sends to a destination.
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 */
export interface DestinationRecord {
  version: "1.0";
  /** ISO-8601 time of the last attempt. */
  timestamp: string;
  requestContext: {
    requestId: string;
    /** Function ARN with the executed version, `...:function:NAME:$LATEST`. */
    functionArn: string;
    condition: DestinationCondition;
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext: {
    statusCode: number;
    executedVersion: string;
    functionError?: string;
  };
  responsePayload?: unknown;
}

/** Target of a record: another function, or a file (the simulator's extension). */
export type DestinationTarget =
  | { kind: "function"; functionName: string; qualifier?: string }
  | { kind: "file"; file: string };

/**
 * Maps a destination string to a target. `file:NAME` writes JSON lines to
 * `<dataDir>/destinations/NAME.jsonl`.
 *
 * PARITY: SQS, SNS, EventBridge and S3 destinations are not delivered to
 * those services. Their records go to a file named after the ARN's service and
 * resource (`sqs-my-queue.jsonl`), so no record is dropped silently.
 */
export function destinationTarget(destination: string, dataDir: string): DestinationTarget {
  const folder = path.join(dataDir, "destinations");
  if (destination.startsWith("file:")) {
    return { kind: "file", file: path.join(folder, `${destination.slice("file:".length)}.jsonl`) };
  }

  const parts = destination.split(":");
  if (parts[2] === "lambda" && parts[5] === "function") {
    const reference = parseFunctionReference(destination);
    return {
      kind: "function",
      functionName: reference.functionName,
      qualifier: reference.qualifier,
    };
  }
  const service = parts[2] ?? "unknown";
  const resource = (parts.slice(5).join("-") || "destination").replace(/[^A-Za-z0-9._-]/g, "_");
  return { kind: "file", file: path.join(folder, `${service}-${resource}.jsonl`) };
}

/** Appends one record as a JSON line. */
export async function appendRecord(file: string, record: DestinationRecord): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${JSON.stringify(record)}\n`);
}

/** Converts a payload for the record: parsed JSON when it parses, else the text. */
export function payloadValue(payload: Buffer | undefined): unknown {
  if (!payload || payload.length === 0) return null;
  const text = payload.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
