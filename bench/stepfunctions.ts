/**
 * Step Functions benchmark against the aws-local-stepfunctions package:
 * a Choice/Pass loop of 10,000 transitions and a Map of 1,000 items
 * (MaxConcurrency 40, no-op task). Warmstate runs with history recording
 * and disk persistence on. `npm run bench -- --only step-functions` runs it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { RealClock } from "../simulator/clock.ts";
import type { LambdaInvoker } from "../simulator/stepfunctions/lambda-invoker.ts";
import { StepFunctionsService } from "../simulator/stepfunctions/service.ts";

/** Role ARN that CreateStateMachine stores with the benchmark state machine. */
const ROLE_ARN = "arn:aws:iam::123456789012:role/StepFunctionsRole";

/** A no-op function: Lambda returns the event as the result, with nothing recorded. */
const ECHO_INVOKER: LambdaInvoker = {
  invoke: async (request) => ({
    statusCode: 200,
    payload: request.payload,
    executedVersion: "$LATEST",
    requestId: "bench",
  }),
};

// aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 20 lacks.
const promiseStatics = Promise as unknown as { withResolvers?: () => unknown };
promiseStatics.withResolvers ??= () => {
  let resolve!: (value: unknown) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

// Runs of each engine before measuring, so both are measured with their hot paths compiled.
const WARM_UP_RUNS = 5;

const LOOP_ITERATIONS = 5_000; // a Choice and a Pass per iteration: 10,000 transitions
/** States entered by one loop execution: every iteration's Choice and Pass, the last Choice and Succeed. */
const LOOP_TRANSITIONS = 2 * LOOP_ITERATIONS + 2;

const LOOP = {
  StartAt: "Check",
  States: {
    Check: {
      Type: "Choice",
      Choices: [{ Variable: "$.i", NumericLessThan: LOOP_ITERATIONS, Next: "Increment" }],
      Default: "Done",
    },
    Increment: { Type: "Pass", Parameters: { "i.$": "States.MathAdd($.i, 1)" }, Next: "Check" },
    Done: { Type: "Succeed" },
  },
};

const MAP = {
  StartAt: "Fan",
  States: {
    Fan: {
      Type: "Map",
      MaxConcurrency: 40,
      ItemProcessor: {
        StartAt: "Noop",
        States: {
          Noop: {
            Type: "Task",
            Resource: "arn:aws:lambda:us-east-1:123456789012:function:noop",
            End: true,
          },
        },
      },
      End: true,
    },
  },
};
const MAP_INPUT = Array.from({ length: 1000 }, (_, index) => ({ index }));
/** States entered by one Map execution: the Map state and one Task per item. */
const MAP_TRANSITIONS = 1 + MAP_INPUT.length;

/** Times one scenario on Warmstate, with history recording and persistence on. */
async function warmstateRunner(
  definition: unknown,
): Promise<{ run: (input: unknown) => Promise<number>; close: () => Promise<void> }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "warmstate-sfn-bench-"));
  const service = new StepFunctionsService({
    dataDir,
    clock: new RealClock(),
    logger: pino({ level: "silent" }),
    invoker: ECHO_INVOKER,
  });
  const { stateMachineArn } = (await service.createStateMachine({
    name: "bench",
    definition: JSON.stringify(definition),
    roleArn: ROLE_ARN,
  })) as { stateMachineArn: string };
  return {
    async run(input) {
      const started = performance.now();
      const { executionArn } = (await service.startExecution({
        stateMachineArn,
        input: JSON.stringify(input),
      })) as {
        executionArn: string;
      };
      await service.waitForExecution(executionArn);
      const elapsed = performance.now() - started;
      const described = await service.describeExecution({ executionArn });
      if (described.status !== "SUCCEEDED") {
        throw new Error(`benchmark execution ended ${described.status}: ${described.cause}`);
      }
      return elapsed;
    },
    async close() {
      await service.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Times one scenario on aws-local-stepfunctions. */
async function baselineRunner(definition: unknown): Promise<(input: unknown) => Promise<number>> {
  const { StateMachine } = await import("aws-local-stepfunctions");
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  return async (input) => {
    const started = performance.now();
    await machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: { Noop: (event) => event } },
    }).result;
    return performance.now() - started;
  };
}

/**
 * Runs each engine in its own block of runs, after WARM_UP_RUNS runs, and
 * returns the median milliseconds. Blocks keep one engine's garbage from
 * being collected during the other engine's runs.
 */
async function compare(
  definition: unknown,
  input: unknown,
  runs: number,
): Promise<{ warmstate: number; baseline: number }> {
  const warmstate = await warmstateRunner(definition);
  const warmstateTimes: number[] = [];
  try {
    for (let run = 0; run < WARM_UP_RUNS + runs; run++) {
      const elapsed = await warmstate.run(input);
      if (run >= WARM_UP_RUNS) warmstateTimes.push(elapsed);
    }
  } finally {
    await warmstate.close();
  }

  const baseline = await baselineRunner(definition);
  const baselineTimes: number[] = [];
  for (let run = 0; run < WARM_UP_RUNS + runs; run++) {
    const elapsed = await baseline(input);
    if (run >= WARM_UP_RUNS) baselineTimes.push(elapsed);
  }
  return { warmstate: median(warmstateTimes), baseline: median(baselineTimes) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Measures the median milliseconds of each scenario on both engines, the
 * transitions per second, and the speed-up of Warmstate (baseline time /
 * Warmstate time).
 */
export async function benchStepFunctions(runs = 15): Promise<Record<string, number>> {
  const loop = await compare(LOOP, { i: 0 }, runs);
  const map = await compare(MAP, MAP_INPUT, runs);
  const round = (value: number) => Math.round(value * 100) / 100;
  const perSecond = (transitions: number, ms: number) => round(transitions / (ms / 1000));
  return {
    "sfn.runs": runs,
    "sfn.loop10k.warmstateMs": round(loop.warmstate),
    "sfn.loop10k.baselineMs": round(loop.baseline),
    "sfn.loop10k.warmstateTransitionsPerSecond": perSecond(LOOP_TRANSITIONS, loop.warmstate),
    "sfn.loop10k.baselineTransitionsPerSecond": perSecond(LOOP_TRANSITIONS, loop.baseline),
    "sfn.loop10k.speedup": round(loop.baseline / loop.warmstate),
    "sfn.map1000.warmstateMs": round(map.warmstate),
    "sfn.map1000.baselineMs": round(map.baseline),
    "sfn.map1000.warmstateTransitionsPerSecond": perSecond(MAP_TRANSITIONS, map.warmstate),
    "sfn.map1000.baselineTransitionsPerSecond": perSecond(MAP_TRANSITIONS, map.baseline),
    "sfn.map1000.speedup": round(map.baseline / map.warmstate),
  };
}
