import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseDefinition } from "../../simulator/stepfunctions/asl/validate.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const FUNCTION_ARN = /^arn:aws:lambda:us-east-1:000000000000:function:([a-z0-9-]+)$/;
const TRANSIENT_LAMBDA_ERRORS = [
  "Lambda.TooManyRequestsException",
  "Lambda.ServiceException",
  "Lambda.SdkClientException",
];

type State = Record<string, any>;

function readPipeline(name: string): { text: string; definition: State } {
  const text = readFileSync(`${REPO}pipelines/${name}`, "utf8");
  return { text, definition: JSON.parse(text) };
}

// Every state of a definition, nested Map processors included, with the
// state names of the scope it belongs to.
function allStates(
  machine: State,
  path = "",
): Array<{ path: string; state: State; scope: Set<string> }> {
  const scope = new Set(Object.keys(machine.States));
  const found: Array<{ path: string; state: State; scope: Set<string> }> = [];
  for (const [name, state] of Object.entries<State>(machine.States)) {
    found.push({ path: `${path}/${name}`, state, scope });
    if (state.ItemProcessor) found.push(...allStates(state.ItemProcessor, `${path}/${name}`));
  }
  return found;
}

for (const name of ["pdf-batch.asl.json", "pdf-batch-inline.asl.json"]) {
  describe(`${name} structure`, () => {
    const { text, definition } = readPipeline(name);
    const states = allStates(definition);

    it("passes the simulator's definition validator", () => {
      expect(() => parseDefinition(text)).not.toThrow();
    });

    it("points every transition at a state of its own scope", () => {
      for (const { path, state, scope } of states) {
        const targets = [
          state.Next,
          state.Default,
          ...(state.Catch ?? []).map((c: State) => c.Next),
        ];
        for (const choice of state.Choices ?? []) targets.push(choice.Next);
        for (const target of targets.filter(Boolean))
          expect(scope.has(target), `${path} -> ${target}`).toBe(true);
      }
    });

    it("invokes only functions that exist in functions/", () => {
      const tasks = states.filter(({ state }) => state.Type === "Task");

      expect(tasks.length).toBeGreaterThan(0);
      for (const { path, state } of tasks) {
        expect(state.Resource, path).toBe("arn:aws:states:::lambda:invoke");
        const match = FUNCTION_ARN.exec(state.Parameters.FunctionName);
        expect(match, path).not.toBeNull();
        expect(existsSync(`${REPO}functions/${match?.[1]}/index.mjs`), path).toBe(true);
      }
    });

    it("retries transient Lambda errors with back-off on every task", () => {
      for (const { path, state } of states.filter(({ state }) => state.Type === "Task")) {
        const retry = state.Retry?.find((r: State) =>
          TRANSIENT_LAMBDA_ERRORS.every((e) => r.ErrorEquals.includes(e)),
        );
        expect(retry, path).toBeDefined();
        expect(retry.BackoffRate, path).toBeGreaterThan(1);
        expect(retry.MaxAttempts, path).toBeGreaterThan(1);
      }
    });

    it("catches every error of a document's split and page Map", () => {
      const processor = definition.States.ProcessDocuments.ItemProcessor.States;

      for (const stateName of ["Split", "AnalyzePages"]) {
        expect(processor[stateName].Catch[0].ErrorEquals, stateName).toEqual(["States.ALL"]);
        expect(processor[stateName].Catch[0].Next, stateName).toBe("RecordFailure");
      }
      expect(processor.RecordFailure.Parameters).toMatchObject({
        status: "failed",
        "error.$": "$.error.Error",
      });
    });

    it("caps the page Map at 10 concurrent pages", () => {
      const processor = definition.States.ProcessDocuments.ItemProcessor.States;

      expect(processor.AnalyzePages.MaxConcurrency).toBe(10);
    });
  });
}

describe("pdf-batch.asl.json page lists", () => {
  const processor =
    readPipeline("pdf-batch.asl.json").definition.States.ProcessDocuments.ItemProcessor.States;

  it("reads a manifest with an S3 ItemReader in distributed mode", () => {
    const fromManifest = processor.AnalyzePagesFromManifest;

    expect(processor.PageListInlineOrManifest.Choices[0]).toMatchObject({
      Variable: "$.split.Payload.manifestKey",
      IsPresent: true,
      Next: "AnalyzePagesFromManifest",
    });
    expect(fromManifest.ItemReader.Resource).toBe("arn:aws:states:::s3:getObject");
    expect(fromManifest.ItemReader.ReaderConfig.InputType).toBe("JSON");
    expect(fromManifest.ItemProcessor.ProcessorConfig.Mode).toBe("DISTRIBUTED");
  });

  it("keeps page results out of the state", () => {
    expect(processor.AnalyzePages.ResultPath).toBeNull();
    expect(processor.AnalyzePagesFromManifest.ResultPath).toBeNull();
    expect(processor.AnalyzePages.ItemProcessor.States.Analyze.ResultPath).toBeNull();
  });
});

describe("pdf-batch-inline.asl.json page lists", () => {
  const processor = readPipeline("pdf-batch-inline.asl.json").definition.States.ProcessDocuments
    .ItemProcessor.States;

  it("asks split for an inline page list and keeps every page result", () => {
    expect(processor.Split.Parameters.Payload.alwaysInline).toBe(true);
    expect(processor.AnalyzePages.ResultPath).toBe("$.pages");
    expect(processor.AnalyzePages.ItemProcessor.States.Analyze.OutputPath).toBe("$.Payload");
  });
});
