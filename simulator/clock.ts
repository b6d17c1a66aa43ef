/**
 * The simulator's one clock. Serving uses real time. A replay uses virtual
 * time, so idle gaps, keep-alive expiry, Wait states and retry back-offs
 * play in minutes while handlers still run in real time.
 */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
  /** Runs `callback` after `delayMs` of this clock's time. */
  setTimeout(callback: () => void, delayMs: number): ClockTimer;
  clearTimeout(timer: ClockTimer | undefined): void;
  /** Resolves after `delayMs` of this clock's time. */
  sleep(delayMs: number): Promise<void>;
  /**
   * Marks real work in progress (an invocation, a request). A virtual clock
   * never jumps ahead while work is held, because handlers run in real time.
   * Returns the function that releases the hold.
   */
  hold(): () => void;
}

/** Opaque handle of a timer created by a {@link Clock}. */
export interface ClockTimer {
  readonly id: number;
}

/** Wall-clock time: what `warmstate serve` uses. */
export class RealClock implements Clock {
  #next = 1;
  #timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, delayMs: number): ClockTimer {
    const id = this.#next++;
    const handle = setTimeout(
      () => {
        this.#timers.delete(id);
        callback();
      },
      Math.max(0, delayMs),
    );
    // Timers of the simulator (keep-alive, lifetime, retries) never keep the
    // process alive on their own; servers and sandboxes do.
    handle.unref();
    this.#timers.set(id, handle);
    return { id };
  }

  clearTimeout(timer: ClockTimer | undefined): void {
    if (!timer) return;
    const handle = this.#timers.get(timer.id);
    if (handle) clearTimeout(handle);
    this.#timers.delete(timer.id);
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, delayMs));
  }

  hold(): () => void {
    return () => {};
  }
}

interface VirtualTimer {
  id: number;
  due: number;
  callback: () => void;
}

/**
 * Simulated time for replays. Time advances at `speed` times real time while
 * work is in progress. When no work is in progress and `jumpIdle` is on
 * (`--speed max`), the clock jumps straight to the next timer.
 */
export class VirtualClock implements Clock {
  readonly speed: number;
  readonly jumpIdle: boolean;
  #origin: number;
  #realOrigin = performance.now();
  #offset = 0;
  #held = 0;
  #next = 1;
  #timers = new Map<number, VirtualTimer>();
  #wake: NodeJS.Timeout | undefined;
  #stopped = false;

  /**
   * @param start simulated epoch milliseconds at creation
   * @param speed simulated milliseconds per real millisecond
   * @param jumpIdle skip idle gaps instead of waiting them out
   */
  constructor(options: { start: number; speed: number; jumpIdle: boolean }) {
    this.#origin = options.start;
    this.speed = options.speed;
    this.jumpIdle = options.jumpIdle;
  }

  now(): number {
    return this.#origin + (performance.now() - this.#realOrigin) * this.speed + this.#offset;
  }

  setTimeout(callback: () => void, delayMs: number): ClockTimer {
    const id = this.#next++;
    this.#timers.set(id, { id, due: this.now() + Math.max(0, delayMs), callback });
    this.#schedule();
    return { id };
  }

  clearTimeout(timer: ClockTimer | undefined): void {
    if (!timer) return;
    this.#timers.delete(timer.id);
    this.#schedule();
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, delayMs));
  }

  hold(): () => void {
    this.#held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held--;
      this.#schedule();
    };
  }

  /** Number of pending timers. A replay is idle when this and the open holds are zero. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Cancels every timer and stops scheduling. */
  stop(): void {
    this.#stopped = true;
    this.#timers.clear();
    if (this.#wake) clearTimeout(this.#wake);
  }

  #earliest(): VirtualTimer | undefined {
    let earliest: VirtualTimer | undefined;
    for (const timer of this.#timers.values()) {
      if (!earliest || timer.due < earliest.due) earliest = timer;
    }
    return earliest;
  }

  #schedule(): void {
    if (this.#wake) clearTimeout(this.#wake);
    this.#wake = undefined;
    if (this.#stopped) return;
    const earliest = this.#earliest();
    if (!earliest) return;

    // Wait in real time for the share of the gap that real time must cover.
    // When idle and jumping, a zero wait lets #fire advance the offset.
    const gap = earliest.due - this.now();
    const realWait = this.#held === 0 && this.jumpIdle ? 0 : Math.max(0, gap / this.speed);
    this.#wake = setTimeout(() => this.#fire(), Math.min(realWait, 2 ** 31 - 1));
    this.#wake.unref();
  }

  #fire(): void {
    this.#wake = undefined;
    const earliest = this.#earliest();
    if (!earliest) return;
    if (this.#held === 0 && this.jumpIdle && earliest.due > this.now()) {
      this.#offset += earliest.due - this.now();
    }

    const now = this.now();
    const due = [...this.#timers.values()].filter((timer) => timer.due <= now);
    due.sort((a, b) => a.due - b.due || a.id - b.id);
    for (const timer of due) {
      this.#timers.delete(timer.id);
      timer.callback();
    }
    this.#schedule();
  }
}
