/**
 * Helpers for users' own test suites (`import { warmstateClient } from "warmstate/testing"`).
 * They read a running simulator's `/_warmstate` API, so assertions such as
 * "this invocation reused that environment" take one line:
 *
 * ```ts
 * const ws = await warmstateClient(endpoint);
 * const output = await lambda.send(new InvokeCommand({ FunctionName: "fn" }));
 * expect(await ws.wasWarm(output)).toBe(true);
 * ```
 */

import type { FunctionSummary } from "../admin/function-summary.ts";
import type { EnvironmentInfo, InvocationRecord } from "../lambda/types.ts";

export type { EnvironmentInfo, FunctionSummary, InvocationRecord };

/** A request id, or an SDK command output whose `$metadata.requestId` is one. */
export type RequestRef = string | { $metadata?: { requestId?: string } };

/** One log line as the admin API returns it. */
export interface LogLine {
  sequence: number;
  timestamp: number;
  logStreamName: string;
  environmentId: string;
  requestId?: string;
  message: string;
}

/**
 * Returns the request id of an invocation: the string itself, or the
 * `x-amzn-RequestId` the SDK stored in `output.$metadata.requestId`.
 */
export function requestIdOf(ref: RequestRef): string {
  const requestId = typeof ref === "string" ? ref : ref.$metadata?.requestId;
  if (!requestId)
    throw new Error(
      "No request id: pass the Invoke output of an AWS SDK v3 call or its $metadata.requestId.",
    );
  return requestId;
}

/** Client of a running simulator's introspection API. */
export interface WarmstateClient {
  readonly endpoint: string;
  functions(): Promise<FunctionSummary[]>;
  /** Environments of a function (or all), gone ones included. */
  environments(functionName?: string): Promise<EnvironmentInfo[]>;
  /** Environments that are not gone. */
  liveEnvironments(functionName?: string): Promise<EnvironmentInfo[]>;
  invocations(functionName?: string): Promise<InvocationRecord[]>;
  /** The record of one invocation; throws when the simulator has none. */
  invocation(ref: RequestRef): Promise<InvocationRecord>;
  /** The newest invocation of a function; throws when it has none. */
  lastInvocation(functionName: string): Promise<InvocationRecord>;
  /** Whether the invocation reused an environment (a warm start). */
  wasWarm(ref: RequestRef): Promise<boolean>;
  /** Whether the invocation had to initialize a new environment (a cold start). */
  wasCold(ref: RequestRef): Promise<boolean>;
  /** The environment that served an invocation. */
  environmentOf(ref: RequestRef): Promise<EnvironmentInfo>;
  /** Whether two invocations ran in the same environment. */
  sameEnvironment(first: RequestRef, second: RequestRef): Promise<boolean>;
  /** Log lines of a function, optionally of one invocation. */
  logs(functionName: string, options?: { requestId?: string; filter?: string }): Promise<LogLine[]>;
  /** Waits until a function has at least `count` invocation records (Event invocations run later). */
  waitForInvocations(
    functionName: string,
    count: number,
    options?: { timeoutMs?: number },
  ): Promise<InvocationRecord[]>;
}

/**
 * Connects to a simulator at `endpoint` (for example `simulator.endpoint` or
 * `http://127.0.0.1:4700`) and checks that it answers.
 */
export async function warmstateClient(endpoint: string): Promise<WarmstateClient> {
  const base = endpoint.replace(/\/+$/, "");

  async function get<T>(path: string): Promise<T> {
    const response = await fetch(`${base}/_warmstate${path}`);
    const body = (await response.json()) as T & { message?: string };
    if (!response.ok)
      throw new Error(
        `GET /_warmstate${path} failed with ${response.status}: ${body.message ?? "no message"}`,
      );
    return body;
  }

  await get("/health");

  const invocation = (ref: RequestRef) =>
    get<InvocationRecord>(`/invocations/${encodeURIComponent(requestIdOf(ref))}`);
  const environments = (functionName?: string) =>
    get<EnvironmentInfo[]>(
      `/environments${functionName ? `?function=${encodeURIComponent(functionName)}` : ""}`,
    );
  // The admin route returns the newest 1,000 records unless the request sets `limit`.
  const invocations = (functionName?: string, limit?: number) => {
    const query = new URLSearchParams();
    if (functionName) query.set("function", functionName);
    if (limit !== undefined) query.set("limit", String(limit));
    const text = query.toString();
    return get<InvocationRecord[]>(`/invocations${text ? `?${text}` : ""}`);
  };

  const client: WarmstateClient = {
    endpoint: base,
    functions: () => get<FunctionSummary[]>("/functions"),
    environments,
    liveEnvironments: async (functionName) =>
      (await environments(functionName)).filter((environment) => environment.status !== "gone"),
    invocations,
    invocation,
    async lastInvocation(functionName) {
      const records = await get<InvocationRecord[]>(
        `/invocations?function=${encodeURIComponent(functionName)}&limit=1`,
      );
      const last = records.at(-1);
      if (!last) throw new Error(`Function ${functionName} has no invocations yet.`);
      return last;
    },
    wasWarm: async (ref) => !(await invocation(ref)).coldStart,
    wasCold: async (ref) => (await invocation(ref)).coldStart,
    async environmentOf(ref) {
      const record = await invocation(ref);
      const found = (await environments(record.functionName)).find(
        (environment) => environment.environmentId === record.environmentId,
      );
      if (!found)
        throw new Error(
          `Environment ${record.environmentId} of request ${record.requestId} is no longer known.`,
        );
      return found;
    },
    async sameEnvironment(first, second) {
      const [a, b] = await Promise.all([invocation(first), invocation(second)]);
      return a.environmentId === b.environmentId;
    },
    async logs(functionName, options = {}) {
      const query = new URLSearchParams();
      if (options.requestId) query.set("requestId", options.requestId);
      if (options.filter) query.set("filter", options.filter);
      const body = await get<{ events: LogLine[] }>(
        `/logs/${encodeURIComponent(functionName)}?${query}`,
      );
      return body.events;
    },
    async waitForInvocations(functionName, count, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 10_000);
      for (;;) {
        const records = await invocations(functionName, Math.max(count, 1_000));
        if (records.length >= count) return records;
        if (Date.now() > deadline) {
          throw new Error(
            `Function ${functionName} has ${records.length} invocations, expected at least ${count} in time.`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
  return client;
}
