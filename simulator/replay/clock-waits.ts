/**
 * Ways the replay driver waits on a virtual clock: until a simulated time,
 * or for real work while letting the clock skip only short waits.
 */
import type { Clock, ClockTimer } from "../clock.ts";
import type { GapBridge } from "./gap-bridge.ts";

/** Resolves at simulated time `at`, or at once when the signal aborts. */
export function sleepUntil(clock: Clock, at: number, signal?: AbortSignal): Promise<void> {
  const delay = at - clock.now();
  if (delay <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      resolve();
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, delay);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Waits for `work`, or until the signal aborts, and removes its abort listener either way. */
export async function workOrAbort(work: Promise<unknown>, signal?: AbortSignal): Promise<void> {
  if (!signal) {
    await work;
    return;
  }
  if (signal.aborted) return;
  let onAbort = () => {};
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Waits for `work` while the clock may jump at most `stepMs` at a time.
 *
 * With `--speed max` an idle clock jumps to its next timer. That is right
 * while a re-run waits for a retry back-off. Between the re-run's last task
 * and the poll that detects its stop, though, the next timer can be a
 * keep-alive expiry minutes away, and the jump would reclaim the
 * environment that the next re-run should find warm. A timer every
 * `stepMs` caps each jump. After each jump the bridge holds the clock for a
 * moment of real time, so the jumps cannot outrun the polling.
 */
export async function waitWithShortJumps(
  clock: Clock,
  bridge: GapBridge,
  work: Promise<unknown>,
  stepMs: number,
  signal?: AbortSignal,
): Promise<void> {
  let timer: ClockTimer | undefined;
  let done = false;
  const arm = () => {
    if (done) return;
    bridge.touch();
    timer = clock.setTimeout(arm, stepMs);
  };
  arm();
  try {
    await workOrAbort(work, signal);
  } finally {
    done = true;
    clock.clearTimeout(timer);
  }
}
