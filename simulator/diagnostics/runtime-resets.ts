/**
 * Splits an environment's probe series where its runtime was reset. A
 * timeout, a runtime exit or an out-of-memory kill starts a new runtime
 * process in the same environment, so the runtime's own resources (resident
 * memory, open descriptors) start again from a fresh process while /tmp
 * carries over. A growth that ended in a reset is measured on the probes
 * before that reset, not across it.
 */

/** Invocation outcomes after which the simulator resets the runtime. */
export const RESET_OUTCOMES: ReadonlySet<string> = new Set([
  "timeout",
  "runtime-exit",
  "out-of-memory",
]);

/** An invocation whose failure reset the runtime of its environment. */
export interface RuntimeReset {
  invocationNumber: number;
  /** `timeout`, `runtime-exit` or `out-of-memory`. */
  outcome: string;
}

/** Failures of one environment, taken from its invocation records. */
export interface EnvironmentFailures {
  /** First invocation whose error was ENOSPC. */
  firstEnospcInvocation?: number;
  /** First invocation whose error was EMFILE or ENFILE. */
  firstEmfileInvocation?: number;
  /** First invocation that the memory limit killed. */
  firstOutOfMemoryInvocation?: number;
  /** Invocations that the memory limit killed. */
  outOfMemoryKills?: number;
  /** Invocations whose failure reset the runtime, oldest first; a store may keep only the latest. */
  resets: RuntimeReset[];
}

/** The probes of one runtime process, and the reset that ended it when one did. */
export interface RuntimeSegment {
  xs: number[];
  ys: number[];
  endedBy?: RuntimeReset;
}

/**
 * Returns the probes of the latest runtime process that has at least
 * `minPoints` probes, or the latest one when none has that many. The probe
 * of a resetting invocation is left out of every segment, because it was
 * taken after the runtime failed (an out-of-memory kill reads 0 bytes).
 */
export function runtimeSegment(
  xs: number[],
  ys: number[],
  resets: RuntimeReset[],
  minPoints: number,
): RuntimeSegment {
  if (resets.length === 0) return { xs, ys };

  const ends = [...resets].sort((a, b) => a.invocationNumber - b.invocationNumber);
  const segments: RuntimeSegment[] = [];
  let current: RuntimeSegment = { xs: [], ys: [] };
  let next = 0;
  for (let index = 0; index < xs.length; index++) {
    const x = xs[index];
    while (next < ends.length && ends[next].invocationNumber <= x) {
      current.endedBy = ends[next];
      segments.push(current);
      current = { xs: [], ys: [] };
      next += 1;
    }
    if (segments.at(-1)?.endedBy?.invocationNumber === x) continue;
    current.xs.push(x);
    current.ys.push(ys[index]);
  }
  segments.push(current);

  const nonEmpty = segments.filter((segment) => segment.xs.length > 0);
  for (let index = nonEmpty.length - 1; index >= 0; index--) {
    if (nonEmpty[index].xs.length >= minPoints) return nonEmpty[index];
  }
  return nonEmpty.at(-1) ?? { xs: [], ys: [] };
}

/** Returns the series without the probes of resetting invocations. */
export function withoutResetProbes(
  xs: number[],
  ys: number[],
  resets: RuntimeReset[],
): { xs: number[]; ys: number[] } {
  const skipped = new Set(resets.map((reset) => reset.invocationNumber));
  const remaining = { xs: [] as number[], ys: [] as number[] };
  xs.forEach((x, index) => {
    if (skipped.has(x)) return;
    remaining.xs.push(x);
    remaining.ys.push(ys[index]);
  });
  return remaining;
}
