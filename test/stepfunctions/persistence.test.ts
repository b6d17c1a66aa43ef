/**
 * Persistence under <dataDir>/stepfunctions: after a restart, finished
 * executions keep their status, output and history, and executions that
 * were running are reported as aborted.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { afterEach, describe, expect, it } from "vitest";
import { createMachine, startHarness } from "./harness.ts";

let dataDir: string | undefined;
afterEach(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

describe("restart", () => {
  it("keeps finished executions and aborts running ones", async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "warmstate-sfn-persist-"));
    const first = await startHarness({ dataDir });
    const machine = await createMachine(first, {
      StartAt: "P",
      States: { P: { Type: "Pass", Result: { kept: true }, End: true } },
    });
    const done = await first.client.send(
      new StartExecutionCommand({ stateMachineArn: machine, input: '{"n":1}' }),
    );
    await first.service.waitForExecution(done.executionArn as string);
    const waiting = await createMachine(first, {
      StartAt: "W",
      States: { W: { Type: "Wait", Seconds: 3600, End: true } },
    });
    const running = await first.client.send(
      new StartExecutionCommand({ stateMachineArn: waiting }),
    );
    const historyBefore = await first.client.send(
      new GetExecutionHistoryCommand({ executionArn: done.executionArn }),
    );
    await first.close({ keepData: true });

    expect(
      (await readdir(path.join(dataDir, "stepfunctions", "executions"))).length,
    ).toBeGreaterThan(0);
    const second = await startHarness({ dataDir });
    try {
      const machineAgain = await second.client.send(
        new DescribeStateMachineCommand({ stateMachineArn: machine }),
      );
      expect(machineAgain.stateMachineArn).toBe(machine);

      const finished = await second.client.send(
        new DescribeExecutionCommand({ executionArn: done.executionArn }),
      );
      expect(finished.status).toBe("SUCCEEDED");
      expect(JSON.parse(finished.output as string)).toEqual({ kept: true });
      const historyAfter = await second.client.send(
        new GetExecutionHistoryCommand({ executionArn: done.executionArn }),
      );
      expect(historyAfter.events).toEqual(historyBefore.events);

      const aborted = await second.client.send(
        new DescribeExecutionCommand({ executionArn: running.executionArn }),
      );
      expect(aborted.status).toBe("ABORTED");
      expect(aborted.cause).toBe("The simulator stopped while the execution was running.");
      const abortedHistory = await second.client.send(
        new GetExecutionHistoryCommand({ executionArn: running.executionArn }),
      );
      expect(abortedHistory.events?.map((event) => event.type)).toEqual([
        "ExecutionStarted",
        "WaitStateEntered",
        "ExecutionAborted",
      ]);
    } finally {
      await second.close({ keepData: true });
    }
  });
});
