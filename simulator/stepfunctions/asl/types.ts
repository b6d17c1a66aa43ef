/**
 * Types of an Amazon States Language definition, as the interpreter reads it
 * after validation.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html
 */

/** The query language of a state machine or of one state. */
export type QueryLanguage = "JSONPath" | "JSONata";

/** The eight state types. */
export type StateType =
  | "Pass"
  | "Task"
  | "Choice"
  | "Wait"
  | "Succeed"
  | "Fail"
  | "Parallel"
  | "Map";

/** A Retrier of a Retry field. */
export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: "FULL" | "NONE";
}

/** A Catcher of a Catch field. */
export interface Catcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
  Output?: unknown;
  Assign?: Record<string, unknown>;
}

/** A Choice rule: a comparison, a boolean combination, or a JSONata Condition. */
export interface ChoiceRule {
  Variable?: string;
  And?: ChoiceRule[];
  Or?: ChoiceRule[];
  Not?: ChoiceRule;
  Condition?: unknown;
  Next?: string;
  Output?: unknown;
  Assign?: Record<string, unknown>;
  [operator: string]: unknown;
}

/** A state machine or a Parallel branch or a Map processor. */
export interface StateMachineDefinition {
  Comment?: string;
  StartAt: string;
  States: Record<string, StateDefinition>;
  TimeoutSeconds?: number;
  Version?: string;
  QueryLanguage?: QueryLanguage;
  ProcessorConfig?: { Mode?: "INLINE" | "DISTRIBUTED"; ExecutionType?: "STANDARD" | "EXPRESS" };
}

/** One state. Fields not used by its type are absent after validation. */
export interface StateDefinition {
  Type: StateType;
  Comment?: string;
  QueryLanguage?: QueryLanguage;
  Next?: string;
  End?: boolean;
  InputPath?: string | null;
  OutputPath?: string | null;
  ResultPath?: string | null;
  Parameters?: unknown;
  ResultSelector?: unknown;
  Result?: unknown;
  Arguments?: unknown;
  Output?: unknown;
  Assign?: Record<string, unknown>;
  Retry?: Retrier[];
  Catch?: Catcher[];
  // Task
  Resource?: string;
  TimeoutSeconds?: number | string;
  TimeoutSecondsPath?: string;
  HeartbeatSeconds?: number | string;
  HeartbeatSecondsPath?: string;
  Credentials?: unknown;
  // Choice
  Choices?: ChoiceRule[];
  Default?: string;
  // Wait
  Seconds?: number | string;
  Timestamp?: string;
  SecondsPath?: string;
  TimestampPath?: string;
  // Fail
  Error?: string;
  Cause?: string;
  ErrorPath?: string;
  CausePath?: string;
  // Parallel
  Branches?: StateMachineDefinition[];
  // Map
  Iterator?: StateMachineDefinition;
  ItemProcessor?: StateMachineDefinition;
  ItemsPath?: string;
  Items?: unknown;
  ItemSelector?: unknown;
  MaxConcurrency?: number | string;
  MaxConcurrencyPath?: string;
  ToleratedFailureCount?: number | string;
  ToleratedFailureCountPath?: string;
  ToleratedFailurePercentage?: number | string;
  ToleratedFailurePercentagePath?: string;
  ItemReader?: ItemReader;
  ItemBatcher?: ItemBatcher;
  ResultWriter?: ResultWriter;
  Label?: string;
}

/** Item source of a Distributed Map. */
export interface ItemReader {
  Resource: string;
  Parameters?: Record<string, unknown>;
  Arguments?: Record<string, unknown>;
  ReaderConfig?: {
    InputType?: "JSON" | "CSV" | "MANIFEST" | "JSONL";
    CSVHeaderLocation?: "FIRST_ROW" | "GIVEN";
    CSVHeaders?: string[];
    CSVDelimiter?: "COMMA" | "PIPE" | "SEMICOLON" | "SPACE" | "TAB";
    MaxItems?: number;
    MaxItemsPath?: string;
  };
}

/** Batching settings of a Distributed Map. */
export interface ItemBatcher {
  MaxItemsPerBatch?: number;
  MaxItemsPerBatchPath?: string;
  MaxInputBytesPerBatch?: number;
  BatchInput?: Record<string, unknown>;
}

/** Result destination of a Distributed Map. */
export interface ResultWriter {
  Resource?: string;
  Parameters?: { Bucket: string; Prefix?: string };
  Arguments?: { Bucket: string; Prefix?: string };
}
