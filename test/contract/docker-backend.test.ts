import Dockerode from "dockerode";
import { describe, expect, it } from "vitest";
import { findEngineProblem } from "../sandbox/docker-harness.ts";
import { describeLambdaContract } from "./lambda-contract.ts";

const engineProblem = await findEngineProblem(new Dockerode());

// In CI the engine is started before the tests, so a missing engine fails there.
describe.runIf(engineProblem !== undefined && process.env.CI)(
  "docker engine for the contract suite",
  () => {
    it("answers in CI", () => {
      expect(engineProblem).toBeUndefined();
    });
  },
);

describeLambdaContract("docker", engineProblem);
