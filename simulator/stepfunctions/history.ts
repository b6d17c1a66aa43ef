/**
 * An execution's history: events with AWS's types, ids, previousEventId and
 * `<kind>EventDetails` fields, capped at 25,000 events.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
 */
import { StatesError } from "./errors.ts";
import { MAX_HISTORY_EVENTS } from "./limits.ts";

/** One history event as stored; `timestamp` is epoch milliseconds. */
export interface HistoryEvent {
  timestamp: number;
  type: string;
  id: number;
  previousEventId: number;
  [details: string]: unknown;
}

const TERMINAL_EVENTS = new Set([
  "ExecutionSucceeded",
  "ExecutionFailed",
  "ExecutionAborted",
  "ExecutionTimedOut",
]);

/** Cause of the failure at the history limit, as AWS words it. */
export const HISTORY_LIMIT_CAUSE = `The execution reached the maximum number of history events (${MAX_HISTORY_EVENTS}).`;

/** Appends events, numbering them from 1, and hands each to `onAppend`. */
export class HistoryRecorder {
  readonly events: HistoryEvent[];
  /** Set when the 25,000-event cap was reached: further state events are dropped. */
  limitReached = false;
  /** Set when the service shuts down: events of executions still winding down are not recorded. */
  closed = false;
  readonly #now: () => number;
  readonly #onAppend: ((event: HistoryEvent) => void) | undefined;

  constructor(options: {
    now: () => number;
    onAppend?: (event: HistoryEvent) => void;
    events?: HistoryEvent[];
  }) {
    this.#now = options.now;
    this.#onAppend = options.onAppend;
    this.events = options.events ?? [];
  }

  /**
   * Appends one event and returns its id. The last free slot is kept for the
   * execution's terminal event: a state event that would take it raises
   * States.Runtime, which fails the execution with the 25,000th event.
   */
  add(
    type: string,
    previousEventId: number,
    detailsKey?: string,
    details?: Record<string, unknown>,
  ): number {
    if (this.closed) return this.events.length;
    if (
      !TERMINAL_EVENTS.has(type) &&
      (this.limitReached || this.events.length >= MAX_HISTORY_EVENTS - 1)
    ) {
      this.limitReached = true;
      const error = new StatesError("States.Runtime", HISTORY_LIMIT_CAUSE);
      // AWS reports this cause without the state prefix of other runtime errors.
      error.located = true;
      throw error;
    }
    const id = this.events.length + 1;
    const event: HistoryEvent = { timestamp: this.#now(), type, id, previousEventId };
    if (detailsKey && details) event[detailsKey] = details;
    this.events.push(event);
    this.#onAppend?.(event);
    return id;
  }

  get lastEventId(): number {
    return this.events.length;
  }
}

/** `inputDetails`/`outputDetails` of an event carrying data. */
export const NOT_TRUNCATED = Object.freeze({ truncated: false });

/** Removes input, output and parameters, for GetExecutionHistory with includeExecutionData false. */
export function withoutExecutionData(event: HistoryEvent): HistoryEvent {
  const copy: HistoryEvent = { ...event };
  for (const [key, value] of Object.entries(event)) {
    if (!key.endsWith("EventDetails") || value === null || typeof value !== "object") continue;
    const details = { ...(value as Record<string, unknown>) };
    delete details.input;
    delete details.output;
    delete details.parameters;
    copy[key] = details;
  }
  return copy;
}
