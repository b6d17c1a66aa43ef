import type { Clock } from "../../clock.ts";
import { AbortedError } from "../errors.ts";

/** Maximum delay of one Node timer, in milliseconds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A cancellation scope: the execution, a Parallel state's branches or a Map
 * state's iterations. Cancelling a scope cancels every scope made from it.
 */
export class Cancellation {
  #cancelled = false;
  readonly #listeners = new Set<() => void>();

  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Creates a scope that is cancelled with this one (and may be cancelled alone). */
  child(): Cancellation {
    const child = new Cancellation();
    if (this.#cancelled) child.cancel();
    else {
      const listener = () => child.cancel();
      this.#listeners.add(listener);
      child.onCancel(() => this.#listeners.delete(listener));
    }
    return child;
  }

  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    for (const listener of [...this.#listeners]) listener();
    this.#listeners.clear();
  }

  /** Registers `listener`; returns the function that removes it. */
  onCancel(listener: () => void): () => void {
    if (this.#cancelled) {
      listener();
      return () => {};
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  throwIfCancelled(): void {
    if (this.#cancelled) throw new AbortedError();
  }

  /** Settles like `promise`, or rejects with AbortedError when cancelled first. */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.#cancelled) return Promise.reject(new AbortedError());
    return new Promise<T>((resolve, reject) => {
      const remove = this.onCancel(() => reject(new AbortedError()));
      promise.then(
        (value) => {
          remove();
          resolve(value);
        },
        (error) => {
          remove();
          reject(error);
        },
      );
    });
  }

  /** Waits `delayMs` of the clock's time, unless cancelled first. */
  async sleep(clock: Clock, delayMs: number): Promise<void> {
    // Node timers hold at most 2^31-1 ms (about 24.8 days); longer waits
    // (a Wait state may last up to a year) are taken in steps.
    let remaining = delayMs;
    while (remaining > MAX_TIMER_MS) {
      await this.#sleepOnce(clock, MAX_TIMER_MS);
      remaining -= MAX_TIMER_MS;
    }
    return this.#sleepOnce(clock, remaining);
  }

  #sleepOnce(clock: Clock, delayMs: number): Promise<void> {
    if (this.#cancelled) return Promise.reject(new AbortedError());
    return new Promise<void>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        remove();
        resolve();
      }, delayMs);
      const remove = this.onCancel(() => {
        clock.clearTimeout(timer);
        reject(new AbortedError());
      });
    });
  }
}
