/**
 * Step Functions benchmark against the aws-local-stepfunctions package:
 * a Choice/Pass loop of 10,000 transitions and a Map of 1,000 items
 * (MaxConcurrency 40, no-op task). Warmstate runs with history recording
 * and disk persistence on. Run it with `npx tsx test/stepfunctions/benchmark.ts`,
 * or call benchStepFunctions() from the project benchmark.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { RealClock } from "../../simulator/clock.ts";
import { StepFunctionsService } from "../../simulator/stepfunctions/service.ts";
import { NodeFunctionInvoker, ROLE_ARN } from "./harness.ts";

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

const LOOP_ITERATIONS = 5_000; // a Choice and a Pass per iteration: 10,000 transitions

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

async function timeWarmstate(definition: unknown, input: unknown, runs: number): Promise<number> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "warmstate-sfn-bench-"));
  const service = new StepFunctionsService({
    dataDir,
    clock: new RealClock(),
    logger: pino({ level: "silent" }),
    invoker: new NodeFunctionInvoker({ noop: (event) => event }),
  });
  try {
    const { stateMachineArn } = (await service.createStateMachine({
      name: "bench",
      definition: JSON.stringify(definition),
      roleArn: ROLE_ARN,
    })) as { stateMachineArn: string };
    const times: number[] = [];
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      const { executionArn } = (await service.startExecution({
        stateMachineArn,
        input: JSON.stringify(input),
      })) as { executionArn: string };
      await service.waitForExecution(executionArn);
      const described = await service.describeExecution({ executionArn });
      if (described.status !== "SUCCEEDED")
        throw new Error(`benchmark execution ended ${described.status}: ${described.cause}`);
      times.push(performance.now() - started);
    }
    return median(times);
  } finally {
    await service.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function timeBaseline(definition: unknown, input: unknown, runs: number): Promise<number> {
  const { StateMachine } = await import("aws-local-stepfunctions");
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    await machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: { Noop: (event) => event } },
    }).result;
    times.push(performance.now() - started);
  }
  return median(times);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median milliseconds of each scenario for both engines, and the speed-up of Warmstate. */
export async function benchStepFunctions(runs = 5): Promise<Record<string, number>> {
  // One warm-up run each, so JIT compilation does not count.
  await timeWarmstate(LOOP, { i: 0 }, 1);
  await timeBaseline(LOOP, { i: 0 }, 1);

  const loopWarmstate = await timeWarmstate(LOOP, { i: 0 }, runs);
  const loopBaseline = await timeBaseline(LOOP, { i: 0 }, runs);
  const mapWarmstate = await timeWarmstate(MAP, MAP_INPUT, runs);
  const mapBaseline = await timeBaseline(MAP, MAP_INPUT, runs);
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    "sfn.loop10k.warmstateMs": round(loopWarmstate),
    "sfn.loop10k.baselineMs": round(loopBaseline),
    "sfn.loop10k.speedup": round(loopBaseline / loopWarmstate),
    "sfn.map1000.warmstateMs": round(mapWarmstate),
    "sfn.map1000.baselineMs": round(mapBaseline),
    "sfn.map1000.speedup": round(mapBaseline / mapWarmstate),
  };
}

// No top-level await, so bench/index.ts and other modules can import this file.
if (import.meta.url === `file://${process.argv[1]}`) {
  benchStepFunctions().then((results) => console.log(results));
}
