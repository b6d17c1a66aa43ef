/**
 * Keeps a virtual clock from jumping through the short gaps between the
 * steps of running work. Between one Lambda task of an execution and the
 * next, nothing holds the clock for a moment (a state transition, an HTTP
 * hop), and `--speed max` would jump to the next timer, often the next
 * arrival minutes later. Each `touch()` holds the clock for a short real
 * time. When nothing touches it for that long, the work is really waiting
 * (a retry back-off, a Wait state), so the clock may jump.
 */
import type { Clock } from "../clock.ts";

/** Real milliseconds a touch holds the clock; far above a state transition, far below a back-off. */
export const BRIDGE_MS = 150;

/** Holds a clock for a short real time after each touch. */
export class GapBridge {
  #clock: Clock;
  #release: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #bridgeMs: number;

  constructor(clock: Clock, bridgeMs = BRIDGE_MS) {
    this.#clock = clock;
    this.#bridgeMs = bridgeMs;
  }

  /** Holds the clock (again) for the bridge time. */
  touch(): void {
    this.#release ??= this.#clock.hold();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.close(), this.#bridgeMs);
    this.#timer.unref();
  }

  /** Releases the hold now. */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }
}
