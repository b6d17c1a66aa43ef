/**
 * Shared types of the interpreter: frames (the top-level run, a Parallel
 * branch or a Map iteration), outcomes of one state and the services a run
 * reaches (Lambda, S3, task tokens).
 */
import type { QueryLanguage, StateDefinition } from "../asl/types.ts";
import type { Cancellation } from "./cancellation.ts";

/** One thread of states: the execution itself, a Parallel branch or a Map iteration. */
export interface Frame {
  states: Record<string, StateDefinition>;
  startAt: string;
  language: QueryLanguage;
  variables: Record<string, unknown>;
  /** Id of the last event this frame recorded, for the next event's previousEventId. */
  previousEventId: number;
  /** Key under which this frame's finished Map iterations and branches are memoized for redrive. */
  memoKey: string;
  /** How often each state of this frame was entered, so memo keys stay stable across visits. */
  visits: Map<string, number>;
  cancellation: Cancellation;
  /** `$$.Map.Item` inside a Map iteration. */
  mapItem?: { Index: number; Value: unknown };
  /** True for the execution's own frame. */
  topLevel: boolean;
  /**
   * True inside Distributed Map iterations, which AWS runs as child
   * executions with their own histories: their events are not recorded in
   * the parent's history.
   */
  silent?: boolean;
  /** The last JSON text produced in this frame and the value it encodes, to avoid encoding twice. */
  lastText?: { value: unknown; text: string };
}

/** Outcome of one state: its output and the next state, or none at the end. */
export interface StateOutcome {
  output: unknown;
  next: string | undefined;
}

/** Everything a state handler needs about the state it runs. */
export interface StateRun {
  frame: Frame;
  name: string;
  state: StateDefinition;
  language: QueryLanguage;
  rawInput: unknown;
  enteredEventId: number;
  enteredTime: number;
  retryCount: number;
}

/** Object storage reached by Distributed Map readers and writers. */
export interface ObjectStore {
  getObject(bucket: string, key: string): Promise<Buffer>;
  putObject(bucket: string, key: string, body: Buffer | string): Promise<void>;
  listObjects?(
    bucket: string,
    prefix?: string,
  ): Promise<{ Key: string; Size: number; ETag?: string; LastModified?: string }[]>;
}
