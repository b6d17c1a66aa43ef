/**
 * AWS's own Node.js runtime interface client (npm `aws-lambda-ric`) must run
 * unmodified against RuntimeApiServer, as a custom runtime would on Lambda.
 * The package builds native code, so it is installed outside the repository
 * and found through WARMSTATE_RIC_DIR, a folder whose node_modules contains it.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_RESPONSE_BYTES } from "../../simulator/lambda/invocation-failures.ts";
import { RuntimeApiServer } from "../../simulator/lambda/runtime-api/runtime-api-server.ts";
import {
  fixturesDir,
  invocation,
  json,
  lambdaEnvironment,
  type RuntimeProcess,
  responseJson,
  spawnProcess,
} from "./runtime-harness.ts";

const ricDir = process.env.WARMSTATE_RIC_DIR;
const ricPackage = ricDir ? path.join(ricDir, "node_modules/aws-lambda-ric") : undefined;
const ricEntry = ricPackage ? path.join(ricPackage, "bin/index.mjs") : undefined;
const ricBuilt =
  ricPackage !== undefined && existsSync(path.join(ricPackage, "dist/rapid-client.node"));
const skipReason = !ricDir
  ? "WARMSTATE_RIC_DIR is not set; install aws-lambda-ric there to run these tests"
  : `aws-lambda-ric is not built under ${ricDir}/node_modules (dist/rapid-client.node is missing)`;

let api: RuntimeApiServer;
let runtime: RuntimeProcess | undefined;

beforeEach(async () => {
  api = await RuntimeApiServer.start({});
});

afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
  await api.close();
});

/** Starts the official client the way a container image's entry point does: cwd is the task root. */
function startOfficialClient(fixture: string, handler: string): RuntimeProcess {
  const taskRoot = path.join(fixturesDir, fixture);
  runtime = spawnProcess(process.execPath, [ricEntry ?? "", handler], {
    cwd: taskRoot,
    env: lambdaEnvironment(api, taskRoot, handler),
  });
  return runtime;
}

describe.skipIf(!ricBuilt)(
  `official runtime client (${ricBuilt ? "aws-lambda-ric" : skipReason})`,
  () => {
    it("answers an async handler's invocations", async () => {
      startOfficialClient("esm", "index.counter");

      const first = await api.invoke(invocation({}));
      const second = await api.invoke(invocation({}));

      expect(responseJson(first)).toBe(1);
      expect(responseJson(second)).toBe(2);
    });

    it("passes the invocation headers into the context", async () => {
      startOfficialClient("esm", "index.echo");
      const event = invocation({ k: "v" }, { clientContext: '{"custom":{"a":1}}' });

      const outcome = await api.invoke(event);

      expect(outcome.kind).toBe("response");
      expect(responseJson(outcome)).toMatchObject({
        event: { k: "v" },
        awsRequestId: event.requestId,
        clientContext: { custom: { a: 1 } },
      });
    });

    it("posts a thrown error", async () => {
      startOfficialClient("esm", "index.throwsTypeError");

      const outcome = await api.invoke(invocation({}));

      expect(outcome.kind).toBe("error");
      expect(json((outcome as { payload: Buffer }).payload)).toMatchObject({
        errorType: "TypeError",
        errorMessage: "value is not a number",
      });
    });

    it("waits for the event loop with a callback handler", async () => {
      startOfficialClient("cjs", "index.waitsForTimer");

      const outcome = await api.invoke(invocation({}));

      expect(responseJson(outcome)).toEqual({ timerFired: true });
    });

    it("posts a missing handler to init/error", async () => {
      const process = startOfficialClient("esm", "index.missing");

      const outcome = await api.waitForInit();

      expect(outcome.kind).toBe("init-error");
      expect(outcome).toMatchObject({ errorType: "Runtime.HandlerNotFound" });
      expect((await process.exited).code).toBe(129);
    });

    it("reports an oversize response as too large", async () => {
      startOfficialClient("esm", "index.largeResponse");

      const outcome = await api.invoke(invocation({ size: MAX_RESPONSE_BYTES + 1 }));

      expect(outcome).toEqual({ kind: "response-too-large", bytes: expect.any(Number) });
    });

    it("initialises again after a reset", async () => {
      const first = startOfficialClient("esm", "index.counter");
      await api.invoke(invocation({}));
      api.resetRuntime(new Error("reset for the test"));
      await first.stop();

      startOfficialClient("esm", "index.counter");
      const init = await api.waitForInit();
      const outcome = await api.invoke(invocation({}));

      expect(init).toEqual({ kind: "ready" });
      expect(responseJson(outcome)).toBe(1);
    });
  },
);
