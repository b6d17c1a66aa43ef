import {
  TooManyRequestsException,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackendName } from "../../simulator/sandbox/backend.ts";
import {
  type ContractHarness,
  createFixtureFunction,
  invokeJson,
  leftovers,
  startHarness,
} from "./helpers.ts";

const MiB = 1024 * 1024;

/**
 * The behaviour every sandbox backend must show through the Lambda API:
 * warm reuse, /tmp persistence and limits, descriptor and memory limits,
 * freezing, resets, init retry, recycling, reclaiming and cleanup. Each
 * backend's test file runs this suite unchanged.
 */
export function describeLambdaContract(backend: BackendName, skipReason?: string): void {
  describe.skipIf(skipReason !== undefined)(
    `lambda contract on the ${backend} backend${skipReason ? ` (skipped: ${skipReason})` : ""}`,
    () => {
      let harness: ContractHarness;

      beforeAll(async () => {
        harness = await startHarness(backend);
      });

      afterAll(async () => {
        await harness?.simulator.close();
      });

      const recordsOf = (functionName: string) =>
        harness.simulator.lambda.invocations(functionName);
      const environmentsOf = (functionName: string) =>
        harness.simulator.lambda.environments(functionName);

      it("reuses a warm environment with its globals and /tmp", async () => {
        const name = await createFixtureFunction(harness, "counter");

        const results = [];
        for (let i = 0; i < 3; i++) results.push((await invokeJson(harness, name)).payload);

        expect(results.map((result) => result.invocations)).toEqual([1, 2, 3]);
        expect(results.map((result) => result.tmpFiles)).toEqual([1, 2, 3]);
        const records = recordsOf(name);
        expect(records.map((record) => record.coldStart)).toEqual([true, false, false]);
        expect(new Set(records.map((record) => record.environmentId)).size).toBe(1);
        expect(records.map((record) => record.invocationNumber)).toEqual([1, 2, 3]);
      });

      it("runs a CommonJS callback handler unmodified", async () => {
        const name = await createFixtureFunction(harness, "callback-style");

        const { payload, output } = await invokeJson(harness, name, { hello: "world" });

        expect(output.FunctionError).toBeUndefined();
        expect(payload.echo).toEqual({ hello: "world" });
        expect(payload.remaining).toBe(true);
        expect(typeof payload.requestId).toBe("string");
      });

      it("runs a custom runtime's bootstrap against the Runtime API", async () => {
        const name = await createFixtureFunction(harness, "custom-runtime", {
          runtime: "provided.al2023",
          handler: "function.handler",
        });

        const first = await invokeJson(harness, name, { n: 1 });
        const second = await invokeJson(harness, name, { n: 2 });
        const failed = await invokeJson(harness, name, { fail: true });

        expect(first.payload).toMatchObject({
          event: { n: 1 },
          served: 1,
          handler: "function.handler",
        });
        expect(second.payload).toMatchObject({ event: { n: 2 }, served: 2 });
        expect(failed.output.FunctionError).toBe("Unhandled");
        expect(failed.payload.errorType).toBe("Custom.Failure");
        expect(recordsOf(name).map((record) => record.coldStart)).toEqual([true, false, false]);
      });

      it("times out with Lambda's message and keeps /tmp across the reset", async () => {
        const name = await createFixtureFunction(harness, "sleeper", { timeout: 1 });

        const first = await invokeJson(harness, name, { ms: 0 });
        const timedOut = await invokeJson(harness, name, { ms: 5_000 });
        const after = await invokeJson(harness, name, { ms: 0 });

        expect(first.payload.hadMarker).toBe(false);
        expect(timedOut.output.FunctionError).toBe("Unhandled");
        expect(timedOut.payload.errorType).toBe("Sandbox.Timedout");
        expect(timedOut.payload.errorMessage).toMatch(
          /^RequestId: [0-9a-f-]+ Error: Task timed out after 1\.00 seconds$/,
        );
        expect(after.payload.hadMarker).toBe(true);
        const records = recordsOf(name);
        expect(new Set(records.map((record) => record.environmentId)).size).toBe(1);
        expect(environmentsOf(name)[0].resets).toBe(1);
      });

      it("recycles environments after a configuration change and drops /tmp", async () => {
        const name = await createFixtureFunction(harness, "sleeper");
        const before = await invokeJson(harness, name, { ms: 0 });
        await invokeJson(harness, name, { ms: 0 });

        await harness.lambda.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: name,
            Environment: { Variables: { MARK: "2" } },
          }),
        );
        await waitUntilFunctionUpdatedV2(
          { client: harness.lambda, maxWaitTime: 30 },
          { FunctionName: name },
        );
        const after = await invokeJson(harness, name, { ms: 0 });

        expect(before.payload.hadMarker).toBe(false);
        expect(after.payload.hadMarker).toBe(false);
        const records = recordsOf(name);
        expect(records[2].coldStart).toBe(true);
        expect(records[2].environmentId).not.toBe(records[0].environmentId);
        const old = environmentsOf(name).find(
          (info) => info.environmentId === records[0].environmentId,
        );
        expect(old?.status).toBe("gone");
        expect(old?.endReason).toBe("recycled");
      });

      it("does not throttle a sequential caller across a recycle", async () => {
        const name = await createFixtureFunction(harness, "counter");
        const { PutFunctionConcurrencyCommand } = await import("@aws-sdk/client-lambda");
        await harness.lambda.send(
          new PutFunctionConcurrencyCommand({
            FunctionName: name,
            ReservedConcurrentExecutions: 1,
          }),
        );

        for (let i = 1; i <= 3; i++) {
          const { output } = await invokeJson(harness, name);
          expect(output.FunctionError).toBeUndefined();
          await harness.lambda.send(
            new UpdateFunctionConfigurationCommand({
              FunctionName: name,
              Environment: { Variables: { MARK: String(i) } },
            }),
          );
          await waitUntilFunctionUpdatedV2(
            { client: harness.lambda, maxWaitTime: 30 },
            { FunctionName: name },
          );
        }

        const records = recordsOf(name);
        expect(records.map((record) => record.coldStart)).toEqual([true, true, true]);
        expect(new Set(records.map((record) => record.environmentId)).size).toBe(3);
      });

      it("fails with EMFILE at the invocation the descriptor arithmetic predicts", async () => {
        const name = await createFixtureFunction(harness, "fd-leak");

        await invokeJson(harness, name);
        const baseline = recordsOf(name)[0].probe?.openDescriptors;
        expect(baseline).toBeGreaterThan(1);
        // Invocation k opens one more descriptor on top of baseline + (k - 2)
        // leaked ones. With RLIMIT_NOFILE 1024, the open fails once 1024 are open.
        const predicted = 1026 - (baseline ?? 0);
        let failedAt = 0;
        let failure: Record<string, unknown> = {};
        for (let k = 2; k <= 1100 && failedAt === 0; k++) {
          const { output, payload } = await invokeJson(harness, name);
          if (output.FunctionError) {
            failedAt = k;
            failure = payload;
          }
        }

        expect(failedAt).toBe(predicted);
        expect(failure.errorMessage).toMatch(/EMFILE/);
        expect(new Set(recordsOf(name).map((record) => record.environmentId)).size).toBe(1);
      });

      it("gives ENOSPC at the ephemeral storage size without a memory kill", async () => {
        const name = await createFixtureFunction(harness, "tmp-fill", {
          memorySize: 128,
          ephemeralStorage: 512,
        });

        let failure: Record<string, unknown> | undefined;
        let succeeded = 0;
        for (let i = 0; i < 12 && !failure; i++) {
          const { output, payload } = await invokeJson(harness, name, { megabytes: 64 });
          if (output.FunctionError) failure = payload;
          else succeeded++;
        }

        expect(failure?.errorMessage).toMatch(/ENOSPC/);
        const written = Number(/after (\d+) bytes/.exec(String(failure?.errorMessage))?.[1]);
        expect(written / (512 * MiB)).toBeGreaterThan(0.97);
        expect(written / (512 * MiB)).toBeLessThan(1.03);
        expect(succeeded).toBeGreaterThanOrEqual(7);
        const last = recordsOf(name).at(-1);
        expect(last?.outcome).toBe("function-error");
        expect(environmentsOf(name)[0].resets).toBe(0);
      });

      it("kills an environment over its memory size and resets it", async () => {
        const name = await createFixtureFunction(harness, "memory-hog", { memorySize: 128 });

        const killed = await invokeJson(harness, name, { megabytes: 400 });
        const after = await invokeJson(harness, name, { megabytes: 0 });

        expect(killed.output.FunctionError).toBe("Unhandled");
        expect(killed.payload.errorType).toBe("Runtime.OutOfMemory");
        expect(killed.payload.errorMessage).toMatch(/Runtime exited with error: signal: killed$/);
        expect(after.output.FunctionError).toBeUndefined();
        const records = recordsOf(name);
        expect(records[0].outcome).toBe("out-of-memory");
        expect(records[1].environmentId).toBe(records[0].environmentId);
      });

      it("freezes the environment between invocations", async () => {
        const frozen = await createFixtureFunction(harness, "ticker");
        const thawed = await createFixtureFunction(harness, "ticker", {
          tags: { "warmstate:freeze": "false" },
        });

        for (const name of [frozen, thawed]) await invokeJson(harness, name);
        await new Promise((resolve) => setTimeout(resolve, 600));
        const frozenTicks = (await invokeJson(harness, frozen)).payload.ticks as number;
        const thawedTicks = (await invokeJson(harness, thawed)).payload.ticks as number;

        expect(frozenTicks).toBeLessThan(5);
        expect(thawedTicks).toBeGreaterThan(20);
      });

      it("retries a failed init inside the first invocation", async () => {
        const name = await createFixtureFunction(harness, "init-once");

        const { output, payload } = await invokeJson(harness, name);

        expect(output.FunctionError).toBeUndefined();
        expect(payload.initialized).toBe(true);
        expect(recordsOf(name)[0].coldStart).toBe(true);
      });

      it("reports an init error as the invocation's error", async () => {
        const name = await createFixtureFunction(harness, "init-always-fails");

        const { output, payload } = await invokeJson(harness, name);

        expect(output.FunctionError).toBe("Unhandled");
        expect(payload.errorType).toBe("ConfigurationError");
        expect(payload.errorMessage).toBe("DATABASE_URL is not set");
      });

      it("throttles beyond reserved concurrency with 429", async () => {
        const name = await createFixtureFunction(harness, "sleeper");
        const { PutFunctionConcurrencyCommand } = await import("@aws-sdk/client-lambda");
        await harness.lambda.send(
          new PutFunctionConcurrencyCommand({
            FunctionName: name,
            ReservedConcurrentExecutions: 1,
          }),
        );

        const results = await Promise.allSettled([
          invokeJson(harness, name, { ms: 800 }),
          invokeJson(harness, name, { ms: 800 }),
        ]);

        const rejected = results.filter((result) => result.status === "rejected");
        expect(rejected).toHaveLength(1);
        const error = (rejected[0] as PromiseRejectedResult).reason;
        expect(error).toBeInstanceOf(TooManyRequestsException);
        expect(error.$metadata.httpStatusCode).toBe(429);
        expect(error.Reason).toBe("ReservedFunctionConcurrentInvocationLimitExceeded");
        expect(error.message).toBe("Rate Exceeded.");
      });

      it("reclaims an environment idle past its keep-alive", async () => {
        const name = await createFixtureFunction(harness, "counter", {
          tags: { "warmstate:keep-alive-seconds": "1" },
        });

        await invokeJson(harness, name);
        await new Promise((resolve) => setTimeout(resolve, 1_800));
        const second = await invokeJson(harness, name);

        expect(second.payload.invocations).toBe(1);
        const records = recordsOf(name);
        expect(records[1].coldStart).toBe(true);
        const first = environmentsOf(name).find(
          (info) => info.environmentId === records[0].environmentId,
        );
        expect(first?.endReason).toBe("reclaimed");
      });

      it("recycles an environment at its maximum lifetime", async () => {
        const name = await createFixtureFunction(harness, "counter", {
          tags: { "warmstate:max-lifetime-seconds": "1", "warmstate:keep-alive-seconds": "600" },
        });

        await invokeJson(harness, name);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await invokeJson(harness, name);

        const records = recordsOf(name);
        expect(records[1].coldStart).toBe(true);
        const first = environmentsOf(name).find(
          (info) => info.environmentId === records[0].environmentId,
        );
        expect(first?.endReason).toBe("lifetime");
      });

      it("leaves nothing behind after shutdown", async () => {
        const own = await startHarness(backend);
        const names = [
          await createFixtureFunction(own, "counter"),
          await createFixtureFunction(own, "sleeper"),
        ];
        for (const name of names) await invokeJson(own, name);
        expect(own.simulator.lambda.liveEnvironmentCount()).toBe(2);
        expect(leftovers(own.dataDir, names).length).toBeGreaterThan(0);

        await own.simulator.close();

        expect(leftovers(own.dataDir, names)).toEqual([]);
      });
    },
  );
}
