/**
 * Statuses of an execution and the moves between them, as DescribeExecution
 * reports them. A redrive moves a failed, timed-out or aborted execution
 * back to RUNNING.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html
 */
export type ExecutionStatus =
  | "RUNNING"
  | "SUCCEEDED"
  | "FAILED"
  | "TIMED_OUT"
  | "ABORTED"
  | "PENDING_REDRIVE";

const ALLOWED_MOVES: Record<ExecutionStatus, ExecutionStatus[]> = {
  RUNNING: ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"],
  SUCCEEDED: [],
  FAILED: ["PENDING_REDRIVE", "RUNNING"],
  TIMED_OUT: ["PENDING_REDRIVE", "RUNNING"],
  ABORTED: ["PENDING_REDRIVE", "RUNNING"],
  PENDING_REDRIVE: ["RUNNING"],
};

/** Raised on a move the table does not allow: a bug in the simulator. */
export class IllegalStatusMoveError extends Error {
  constructor(from: ExecutionStatus, to: ExecutionStatus) {
    super(`An execution cannot move from ${from} to ${to}`);
    this.name = "IllegalStatusMoveError";
  }
}

/** Returns `to` when the move from `from` is allowed; throws otherwise. */
export function moveStatus(from: ExecutionStatus, to: ExecutionStatus): ExecutionStatus {
  if (!ALLOWED_MOVES[from].includes(to)) throw new IllegalStatusMoveError(from, to);
  return to;
}

/** True for the statuses an execution can end in. */
export function isClosed(status: ExecutionStatus): boolean {
  return status !== "RUNNING" && status !== "PENDING_REDRIVE";
}
