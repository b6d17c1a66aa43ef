/**
 * Retry intervals: IntervalSeconds (default 1) times BackoffRate (default
 * 2.0) per attempt, capped by MaxDelaySeconds, and randomized by
 * JitterStrategy FULL.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 */
import { describe, expect, it } from "vitest";
import { errorMatches, retryDelayMs } from "../../simulator/stepfunctions/interpreter/retry.ts";

describe("retry delays", () => {
  it("follows the documented backoff example", () => {
    // The ASL example: IntervalSeconds 3, BackoffRate 1.5 waits 3, 4.5, 6.75 and 10.125 seconds.
    const retrier = {
      ErrorEquals: ["States.Timeout"],
      IntervalSeconds: 3,
      MaxAttempts: 4,
      BackoffRate: 1.5,
    };
    expect([0, 1, 2, 3].map((attempt) => retryDelayMs(retrier, attempt))).toEqual([
      3000, 4500, 6750, 10125,
    ]);
  });

  it("defaults to 1 second doubling", () => {
    const retrier = { ErrorEquals: ["E"] };
    expect([0, 1, 2].map((attempt) => retryDelayMs(retrier, attempt))).toEqual([1000, 2000, 4000]);
  });

  it("caps delays at MaxDelaySeconds", () => {
    const retrier = {
      ErrorEquals: ["E"],
      IntervalSeconds: 10,
      BackoffRate: 3,
      MaxDelaySeconds: 50,
    };
    expect([0, 1, 2].map((attempt) => retryDelayMs(retrier, attempt))).toEqual([
      10_000, 30_000, 50_000,
    ]);
  });

  it("draws FULL jitter between 0 and the delay", () => {
    const retrier = { ErrorEquals: ["E"], IntervalSeconds: 4, JitterStrategy: "FULL" as const };
    expect(retryDelayMs(retrier, 1, () => 0)).toBe(0);
    expect(retryDelayMs(retrier, 1, () => 0.5)).toBe(4000);
    expect(retryDelayMs(retrier, 1, () => 0.999)).toBeLessThanOrEqual(8000);
  });
});

describe("error name matching", () => {
  it("matches names exactly", () => {
    expect(errorMatches(["Custom"], "Custom")).toBe(true);
    expect(errorMatches(["Custom"], "custom")).toBe(false);
  });

  it("lets States.ALL match all but terminal errors", () => {
    expect(errorMatches(["States.ALL"], "Anything")).toBe(true);
    expect(errorMatches(["States.ALL"], "States.Timeout")).toBe(true);
    expect(errorMatches(["States.ALL"], "States.Runtime")).toBe(false);
    expect(errorMatches(["States.ALL"], "States.DataLimitExceeded")).toBe(false);
  });

  it("lets States.TaskFailed match all but States.Timeout", () => {
    expect(errorMatches(["States.TaskFailed"], "Lambda.ServiceException")).toBe(true);
    expect(errorMatches(["States.TaskFailed"], "States.Timeout")).toBe(false);
  });

  it("never matches States.Runtime", () => {
    expect(errorMatches(["States.Runtime"], "States.Runtime")).toBe(false);
  });
});
