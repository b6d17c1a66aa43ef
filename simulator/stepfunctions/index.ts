/** Public surface of the Step Functions simulator. */
export { stepFunctionsPlugin } from "./api/plugin.ts";
export type { HistoryEvent } from "./history.ts";
export type { ObjectStore } from "./interpreter/types.ts";
export type { LambdaInvoker } from "./lambda-invoker.ts";
export { MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES } from "./limits.ts";
export { StepFunctionsService, type StepFunctionsServiceOptions } from "./service.ts";
