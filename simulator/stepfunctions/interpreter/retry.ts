/**
 * Matching of errors against Retriers and Catchers, and retry delays.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 */
import type { Catcher, Retrier } from "../asl/types.ts";

/**
 * True when `errorName` is matched by `errorEquals`:
 * - States.Runtime is never retried or caught;
 * - States.ALL matches every other error except States.DataLimitExceeded,
 *   which only its own name matches;
 * - States.TaskFailed matches every error except States.Timeout (and the
 *   two terminal errors above);
 * - States.Timeout also matches States.HeartbeatTimeout, because AWS counts a
 *   missed heartbeat as a Task timeout.
 */
export function errorMatches(errorEquals: string[], errorName: string): boolean {
  if (errorName === "States.Runtime") return false;
  for (const name of errorEquals) {
    if (name === errorName) return true;
    if (name === "States.ALL" && errorName !== "States.DataLimitExceeded") return true;
    if (
      name === "States.TaskFailed" &&
      errorName !== "States.Timeout" &&
      errorName !== "States.DataLimitExceeded"
    ) {
      return true;
    }
    if (name === "States.Timeout" && errorName === "States.HeartbeatTimeout") return true;
  }
  return false;
}

/** Index of the first Retrier whose ErrorEquals matches, or -1. */
export function findRetrier(retriers: Retrier[], errorName: string): number {
  return retriers.findIndex((retrier) => errorMatches(retrier.ErrorEquals, errorName));
}

/** Finds the first Catcher whose ErrorEquals matches. */
export function findCatcher(catchers: Catcher[], errorName: string): Catcher | undefined {
  return catchers.find((catcher) => errorMatches(catcher.ErrorEquals, errorName));
}

/**
 * Delay before retry number `attempt` (0-based) of `retrier`: IntervalSeconds
 * (default 1) times BackoffRate (default 2.0) to the power of the attempt,
 * capped by MaxDelaySeconds, and drawn uniformly from [0, delay] with
 * JitterStrategy FULL.
 */
export function retryDelayMs(
  retrier: Retrier,
  attempt: number,
  random: () => number = Math.random,
): number {
  const interval = retrier.IntervalSeconds ?? 1;
  const backoff = retrier.BackoffRate ?? 2.0;
  let seconds = interval * backoff ** attempt;
  if (retrier.MaxDelaySeconds !== undefined) seconds = Math.min(seconds, retrier.MaxDelaySeconds);
  if (retrier.JitterStrategy === "FULL") seconds = random() * seconds;
  return Math.round(seconds * 1000);
}
