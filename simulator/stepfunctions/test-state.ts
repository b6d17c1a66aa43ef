/**
 * TestState: runs one state once with the given input and reports its
 * output, the next state, or the error with whether a Retrier would retry
 * it (RETRIABLE) or a Catcher caught it (CAUGHT_ERROR).
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../clock.ts";
import type { StateDefinition, StateMachineDefinition } from "./asl/types.ts";
import { parseDefinition, parseSingleState } from "./asl/validate.ts";
import { apiErrors, StatesError } from "./errors.ts";
import { HistoryRecorder } from "./history.ts";
import { CaughtError, Engine, RetriableError } from "./interpreter/engine.ts";
import type { TaskTokenRegistry } from "./interpreter/task-tokens.ts";
import type { ObjectStore } from "./interpreter/types.ts";
import type { LambdaInvoker } from "./lambda-invoker.ts";

interface TestStateServices {
  clock: Clock;
  logger: Logger;
  invoker: LambdaInvoker;
  s3?: ObjectStore;
  tokens: TaskTokenRegistry;
  region: string;
  accountId: string;
}

export async function runTestState(
  input: Record<string, unknown>,
  services: TestStateServices,
): Promise<Record<string, unknown>> {
  const definitionText = input.definition;
  if (typeof definitionText !== "string")
    throw apiErrors.validation(
      "1 validation error detected: Value at 'definition' failed to satisfy constraint: Member must not be null",
    );
  const { name, machine } = selectState(definitionText, input.stateName as string | undefined);

  let stateInput: unknown = {};
  if (input.input !== undefined) {
    try {
      stateInput = JSON.parse(String(input.input));
    } catch (error) {
      throw apiErrors.invalidExecutionInput(`Invalid input: '${(error as Error).message}'`);
    }
  }
  const variables =
    input.variables === undefined
      ? {}
      : (JSON.parse(String(input.variables)) as Record<string, unknown>);

  const engine = new Engine({
    clock: services.clock,
    logger: services.logger,
    invoker: services.invoker,
    s3: services.s3,
    tokens: services.tokens,
    region: services.region,
    history: new HistoryRecorder({ now: () => services.clock.now() }),
    definition: machine,
    memo: new Map(),
    singleStep: true,
    identity: {
      executionArn: `arn:aws:states:${services.region}:${services.accountId}:execution:TestStateMachine:${randomUUID()}`,
      name: "TestState",
      stateMachineArn: `arn:aws:states:${services.region}:${services.accountId}:stateMachine:TestStateMachine`,
      stateMachineName: "TestStateMachine",
      roleArn:
        (input.roleArn as string | undefined) ??
        `arn:aws:iam::${services.accountId}:role/TestState`,
      startTime: services.clock.now(),
      input: stateInput,
      redriveCount: 0,
    },
  });
  const frame = engine.topFrame(0);
  frame.variables = { ...variables };
  const inspectionData = {
    input: JSON.stringify(stateInput),
    variables: JSON.stringify(variables),
  };
  const debug = input.inspectionLevel === "DEBUG" || input.inspectionLevel === "TRACE";

  try {
    const outcome = await engine.runState(frame, name, stateInput);
    return {
      status: "SUCCEEDED",
      output: JSON.stringify(outcome.output),
      nextState: outcome.next,
      inspectionData: debug
        ? { ...inspectionData, variables: JSON.stringify(frame.variables) }
        : undefined,
    };
  } catch (error) {
    if (error instanceof RetriableError)
      return failure("RETRIABLE", error.error, debug ? inspectionData : undefined);
    if (error instanceof CaughtError) {
      return {
        ...failure("CAUGHT_ERROR", error.error, debug ? inspectionData : undefined),
        output: JSON.stringify(error.outcome.output),
        nextState: error.outcome.next,
      };
    }
    if (error instanceof StatesError)
      return failure("FAILED", error, debug ? inspectionData : undefined);
    throw error;
  }
}

function failure(
  status: string,
  error: StatesError,
  inspectionData: unknown,
): Record<string, unknown> {
  return { status, error: error.name, cause: error.causeText, inspectionData };
}

/** Accepts a single state, or a whole state machine with `stateName` picking the state. */
function selectState(
  text: string,
  stateName: string | undefined,
): { name: string; state: StateDefinition; machine: StateMachineDefinition } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw apiErrors.invalidDefinition(
      `Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: ${(error as Error).message}'`,
    );
  }
  if (parsed !== null && typeof parsed === "object" && "States" in parsed) {
    const machine = parseDefinition(text);
    const name = stateName ?? machine.StartAt;
    const state = machine.States[name];
    if (!state) throw apiErrors.validation(`The state '${name}' is not in the definition`);
    return { name, state, machine };
  }
  const state = parseSingleState(text);
  const name = stateName ?? "TestState";
  // The single state's Next may name a state that is not part of the test.
  return {
    name,
    state,
    machine: { StartAt: name, States: { [name]: state }, QueryLanguage: state.QueryLanguage },
  };
}
