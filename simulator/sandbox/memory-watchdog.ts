import { residentBytesOf } from "./process-tree.ts";

/**
 * Memory enforcement where no memory cgroup is writable: samples the
 * resident memory of the sandbox's processes and reports when it passes the
 * limit, so the sandbox can SIGKILL its runtime as Lambda's OOM kill does.
 */

// PARITY: a cgroup stops an allocation at the limit; between two samples a
// fast allocation can overshoot by what it allocates in this interval.
const SAMPLE_INTERVAL_MS = 50;

/** Periodic resident-memory check over a process tree. */
export class MemoryWatchdog {
  #timer: NodeJS.Timeout | null = null;
  #peakBytes = 0;
  readonly #limitBytes: number;
  readonly #listPids: () => number[];
  readonly #onExceeded: (residentBytes: number) => void;

  constructor(options: {
    limitBytes: number;
    listPids: () => number[];
    onExceeded: (residentBytes: number) => void;
  }) {
    this.#limitBytes = options.limitBytes;
    this.#listPids = options.listPids;
    this.#onExceeded = options.onExceeded;
  }

  /** Highest resident memory seen since the last start. */
  get peakBytes(): number {
    return this.#peakBytes;
  }

  /** Starts sampling; a frozen sandbox cannot grow, so callers stop it while frozen. */
  start(options: { resetPeak: boolean }): void {
    if (options.resetPeak) this.#peakBytes = 0;
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#check(), SAMPLE_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Records a reading taken elsewhere (by a probe) into the peak. */
  observe(residentBytes: number): void {
    this.#peakBytes = Math.max(this.#peakBytes, residentBytes);
  }

  #check(): void {
    const residentBytes = residentBytesOf(this.#listPids());
    this.observe(residentBytes);
    if (residentBytes > this.#limitBytes) {
      this.stop();
      this.#onExceeded(residentBytes);
    }
  }
}
