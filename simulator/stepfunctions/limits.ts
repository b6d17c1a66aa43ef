/**
 * Quotas of Step Functions that the simulator enforces.
 * https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
 */

/** Maximum input or result size of a task, state or execution: 256 KiB of UTF-8. */
export const MAX_PAYLOAD_BYTES = 262_144;

/** Maximum number of events in one execution's history. */
export const MAX_HISTORY_EVENTS = 25_000;

/** Names of state machines, executions and activities: at most 80 characters. */
export const MAX_NAME_LENGTH = 80;

/** Maximum size of a state machine definition: 1 MB. */
export const MAX_DEFINITION_BYTES = 1_048_576;

/** A Standard execution may be redriven up to 1,000 times. */
export const MAX_REDRIVE_COUNT = 1_000;

/**
 * Default Task timeout when TimeoutSeconds is absent: 99999999 seconds.
 * https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html
 */
export const DEFAULT_TASK_TIMEOUT_SECONDS = 99_999_999;
