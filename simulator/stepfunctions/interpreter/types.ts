/**
 * Shared types of the interpreter: frames (the top-level run, a Parallel
 * branch or a Map iteration), outcomes of one state and the services a run
 * reaches (Lambda, S3, task tokens).
 */
import type { QueryLanguage, StateDefinition, StateMachineDefinition } from "../asl/types.ts";
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
   * True inside Distributed Map iterations that run in the parent's engine
   * (TestState, Express executions): AWS keeps their events in child
   * executions, so they are not recorded in the parent's history.
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

/** The top-level execution attempt that Lambda records as the caller of an invocation. */
export interface ExecutionCaller {
  executionArn: string;
  redriveCount: number;
}

/** Parameters of the Map Run a Distributed Map state starts. */
export interface MapRunRequest {
  /** The execution running the Map state, and its state machine (labelled for a child execution). */
  executionArn: string;
  stateMachineArn: string;
  roleArn: string;
  /** The Map state's Label, or its name: the part after the state machine name in the ARNs. */
  label: string;
  /** The Map state's visit in the execution, so a redrive finds the Map Run to rerun. */
  stateKey: string;
  /** True on a redrive's first attempt of the state: the last Map Run of the visit is redriven. */
  redrive: boolean;
  /** The ItemProcessor as the state machine every child execution runs. */
  definition: StateMachineDefinition;
  itemCount: number;
  childCount: number;
  maxConcurrency: number;
  toleratedFailureCount: number;
  toleratedFailurePercentage: number;
  caller: ExecutionCaller;
}

/** End of one child execution: its output, or its status and error. */
export type ChildOutcome =
  | { status: "SUCCEEDED"; output: unknown }
  | { status: "FAILED" | "TIMED_OUT" | "ABORTED"; error?: string; cause?: string };

/** One Map Run of a Distributed Map state attempt: its child executions and its end. */
export interface MapRun {
  readonly mapRunArn: string;
  /** 0 for a new Map Run, then 1, 2... each time a parent redrive reruns it. */
  readonly redriveCount: number;
  /** Returns the output of item `index` when its child execution succeeded in an earlier attempt. */
  previousOutput(index: number): { found: boolean; value?: unknown };
  /** Runs the child execution of item `index` (or redrives the one that failed) and waits for its end. */
  runChild(
    index: number,
    input: unknown,
    itemCount: number,
    cancellation: Cancellation,
  ): Promise<ChildOutcome>;
  /** Returns the ARN of item `index`'s child execution, once it started. */
  childArn(index: number): string | undefined;
  /** Records the Map Run's end. `resultsWritten` counts the children whose results ResultWriter exported. */
  finish(status: "SUCCEEDED" | "FAILED" | "ABORTED", resultsWritten: number): Promise<void>;
}

/** Starter of Map Runs, which the execution runner gives to the executions it persists. */
export interface MapRunHost {
  open(request: MapRunRequest): Promise<MapRun>;
}
