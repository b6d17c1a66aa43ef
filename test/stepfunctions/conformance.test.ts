/**
 * Table-driven conformance suite: each case runs through the real SFNClient
 * against a real server, and checks the status, output, error and cause the
 * cited AWS page documents. The clock is virtual and skips idle time, so
 * Wait states and retry back-offs do not slow the suite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualClock } from "../../simulator/clock.ts";
import { TooManyRequestsException } from "../../simulator/lambda/errors.ts";
import { CONFORMANCE_CASES } from "./conformance-cases.ts";
import { type Harness, type NodeFunction, namedError, runToEnd, startHarness } from "./harness.ts";

const counters = new Map<string, number>();
const count = (key: string) => {
  const next = (counters.get(key) ?? 0) + 1;
  counters.set(key, next);
  return next;
};
const realSleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Test functions the cases call, standing in for deployed Lambda functions. */
const FUNCTIONS: Record<string, NodeFunction> = {
  echo: (event) => event,
  double: (event) => ({ value: (event as { value: number }).value * 2 }),
  fail: (event) => {
    const { errorType, message } = (event ?? {}) as { errorType?: string; message?: string };
    throw namedError(errorType ?? "CustomError", message ?? "failed on purpose");
  },
  flaky: (event) => {
    const { key, failTimes, retry } = event as { key: string; failTimes: number; retry?: number };
    const attempt = count(`flaky:${key}`);
    if (attempt <= failTimes) throw namedError("Flaky", `attempt ${attempt}`);
    return retry === undefined ? { attempts: attempt } : { attempts: attempt, retry };
  },
  sequence: (event) => {
    const { key, errors } = event as { key: string; errors: string[] };
    const call = count(`sequence:${key}`);
    if (call <= errors.length) throw namedError(errors[call - 1], `call ${call}`);
    return { done: true };
  },
  slow: async (event) => {
    await realSleep((event as { ms: number }).ms);
    return event;
  },
  big: (event) => {
    const { size } = event as { size: number };
    return { size, data: "x".repeat(size) };
  },
  throttled: () => {
    throw new TooManyRequestsException("ReservedFunctionConcurrentInvocationLimitExceeded");
  },
  throttledOnce: (event) => {
    if (count(`throttle:${(event as { key: string }).key}`) === 1)
      throw new TooManyRequestsException("ConcurrentInvocationLimitExceeded");
    return { ok: true };
  },
  order: async (event) => {
    const { key, ms } = event as { key: string; ms: number };
    await realSleep(ms);
    return { position: count(`order:${key}`) - 1 };
  },
  failIf: (event) => {
    if ((event as { fail: boolean }).fail) throw namedError("ItemFailed", "item failed");
    return event;
  },
};

describe("conformance with AWS-documented results", () => {
  let harness: Harness;
  let clock: VirtualClock;

  beforeAll(async () => {
    clock = new VirtualClock({
      start: Date.parse("2026-01-01T00:00:00Z"),
      speed: 1,
      jumpIdle: true,
    });
    harness = await startHarness({ functions: FUNCTIONS, clock });
  });
  afterAll(async () => {
    await harness.close();
    clock.stop();
  });

  it("has at least 150 cases", () => {
    expect(CONFORMANCE_CASES.length).toBeGreaterThanOrEqual(150);
  });

  it.each(CONFORMANCE_CASES.map((testCase) => [testCase.name, testCase] as const))(
    "%s",
    async (_name, testCase) => {
      const result = await runToEnd(harness, testCase.definition, testCase.input ?? {});

      expect(
        { status: result.status, error: result.error, cause: result.cause },
        `see ${testCase.doc}`,
      ).toMatchObject({ status: testCase.status });
      if (testCase.error !== undefined) expect(result.error).toBe(testCase.error);
      if (typeof testCase.cause === "string") expect(result.cause).toBe(testCase.cause);
      if (testCase.cause instanceof RegExp) expect(result.cause).toMatch(testCase.cause);
      if (testCase.output !== undefined) {
        const output = JSON.parse(result.output as string);
        if (typeof testCase.output === "function") testCase.output(output);
        else expect(output).toEqual(testCase.output);
      }
    },
  );
});
