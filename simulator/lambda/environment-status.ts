/**
 * Statuses of an execution environment and the moves allowed between them.
 *
 * starting → initializing (INIT) → idle (frozen) ⇄ busy (INVOKE)
 *   → shutting-down (SHUTDOWN) → gone
 */
export type EnvironmentStatus =
  | "starting"
  | "initializing"
  | "idle"
  | "busy"
  | "shutting-down"
  | "gone";

const ALLOWED_MOVES: Record<EnvironmentStatus, readonly EnvironmentStatus[]> = {
  starting: ["initializing", "shutting-down"],
  // An init that fails is retried by the first invocation, so initializing
  // may lead to busy (the retry runs inside the invoke phase).
  initializing: ["idle", "busy", "shutting-down"],
  idle: ["busy", "shutting-down"],
  // A reset after a timeout or crash re-runs init in the same environment.
  busy: ["idle", "initializing", "shutting-down"],
  "shutting-down": ["gone"],
  gone: [],
};

/** Raised on a move the lifecycle does not allow; always a simulator bug. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly environmentId: string,
    readonly from: EnvironmentStatus,
    readonly to: EnvironmentStatus,
  ) {
    super(`Environment ${environmentId} cannot move from ${from} to ${to}.`);
    this.name = "IllegalTransitionError";
  }
}

/** Returns whether `from → to` is an allowed move. */
export function canMove(from: EnvironmentStatus, to: EnvironmentStatus): boolean {
  return ALLOWED_MOVES[from].includes(to);
}

/** Every status, for tests that walk all pairs. */
export const ENVIRONMENT_STATUSES = Object.keys(ALLOWED_MOVES) as EnvironmentStatus[];
