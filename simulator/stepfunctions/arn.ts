/**
 * ARNs and names of state machines and executions.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html
 */
import { apiErrors } from "./errors.ts";
import { MAX_NAME_LENGTH } from "./limits.ts";

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):stateMachine:([^:]+)$/;
const EXECUTION_ARN =
  /^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):(execution|express):([^:]+):([^:]+)(:[^:]+)?$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/;

// Names may not contain whitespace, wildcards, brackets, the characters
// " # % \ ^ | ~ ` $ & , ; : / or control characters.
// https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
const FORBIDDEN_NAME_CHARACTERS = /[\s?*<>{}[\]"#%\\^|~`$&,;:/]/;

function hasControlCharacter(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/** Throws InvalidName unless `name` is a valid state machine or execution name. */
export function assertValidName(name: string): void {
  if (
    name.length === 0 ||
    name.length > MAX_NAME_LENGTH ||
    FORBIDDEN_NAME_CHARACTERS.test(name) ||
    hasControlCharacter(name)
  ) {
    throw apiErrors.invalidName(name);
  }
}

export function stateMachineArn(region: string, accountId: string, name: string): string {
  return `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
}

/** Execution ARN of a Standard execution, or of an Express one (which adds a unique suffix). */
export function executionArn(
  machineArn: string,
  name: string,
  express = false,
  suffix = "",
): string {
  const match = STATE_MACHINE_ARN.exec(machineArn);
  if (!match) throw apiErrors.invalidArn(machineArn);
  const [, region, account, machine] = match;
  return express
    ? `arn:aws:states:${region}:${account}:express:${machine}:${name}:${suffix}`
    : `arn:aws:states:${region}:${account}:execution:${machine}:${name}`;
}

/** Throws InvalidArn unless `arn` is a state machine ARN. */
export function assertStateMachineArn(arn: string): void {
  if (!STATE_MACHINE_ARN.test(arn)) throw apiErrors.invalidArn(arn);
}

/** Throws InvalidArn unless `arn` is an execution ARN. */
export function assertExecutionArn(arn: string): void {
  if (!EXECUTION_ARN.test(arn)) throw apiErrors.invalidArn(arn);
}

/** Throws InvalidArn unless `arn` is an IAM role ARN. */
export function assertRoleArn(arn: string): void {
  if (!ROLE_ARN.test(arn)) throw apiErrors.invalidArn(arn);
}
