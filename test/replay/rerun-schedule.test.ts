import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pickByKindInTurn } from "../../simulator/replay/rerun-driver.ts";
import {
  loadScenario,
  parseScenario,
  ScenarioError,
} from "../../simulator/replay/scenario-loader.ts";
import { parseDefinition } from "../../simulator/stepfunctions/asl/validate.ts";

const REPO = path.resolve(import.meta.dirname, "..", "..");
const minimal = { name: "tiny", duration: "1h", arrivals: { model: "constant", every: "10m" } };

describe("re-run choice", () => {
  it("takes failure kinds in turn", () => {
    const failures = ["EMFILE-1", "EMFILE-2", "EMFILE-3", "ENOSPC-1", "EMFILE-4", "ENOSPC-2"];

    const picked = pickByKindInTurn(failures, (failure) => failure.split("-")[0], 4);

    expect(picked).toEqual(["EMFILE-1", "ENOSPC-1", "EMFILE-2", "ENOSPC-2"]);
  });

  it("fills up with the kind that has more", () => {
    const picked = pickByKindInTurn(["a1", "b1", "a2", "a3"], (failure) => failure[0], 10);

    expect(picked).toEqual(["a1", "b1", "a2", "a3"]);
  });
});

describe("redrive setting", () => {
  it("accepts a delayed schedule with defaults", () => {
    const scenario = parseScenario({ ...minimal, drive: { redrive: { after: "2h" } } });

    expect(scenario.drive.redrive).toEqual({ after: 7_200_000, every: 60_000, max: 12 });
  });

  it("keeps true for a redrive at once", () => {
    expect(parseScenario({ ...minimal, drive: { redrive: true } }).drive.redrive).toBe(true);
  });

  it("rejects a schedule without a delay", () => {
    expect(() =>
      parseScenario({ ...minimal, drive: { redrive: { every: "1m" } } }, "test.yaml"),
    ).toThrow(ScenarioError);
  });

  it("redrives in the default scenario", () => {
    const { scenario } = loadScenario("seed-workday");

    expect(scenario.drive).toMatchObject({
      stateMachine: "pdf-batch-strict",
      redrive: { after: 3_600_000, every: 60_000, max: 8 },
    });
  });
});

describe("pdf-batch-strict.asl.json", () => {
  const text = readFileSync(path.join(REPO, "pipelines", "pdf-batch-strict.asl.json"), "utf8");
  const strict = JSON.parse(text);
  const lenient = JSON.parse(
    readFileSync(path.join(REPO, "pipelines", "pdf-batch.asl.json"), "utf8"),
  );
  const documentStates = strict.States.ProcessDocuments.ItemProcessor.States;

  it("passes the definition validator", () => {
    expect(() => parseDefinition(text)).not.toThrow();
  });

  it("catches only bad input per document", () => {
    for (const name of ["Split", "AnalyzePages", "AnalyzePagesFromManifest", "Summarize"]) {
      const [catcher] = documentStates[name].Catch;
      expect(catcher.ErrorEquals, name).toContain("EncryptedPDFError");
      expect(catcher.ErrorEquals, name).not.toContain("States.ALL");
      expect(catcher.ErrorEquals, name).not.toContain("States.TaskFailed");
    }
  });

  it("differs from pdf-batch only in its catchers", () => {
    const withoutCatchers = (definition: { States: unknown }) =>
      JSON.stringify(definition.States, (key, value) => (key === "Catch" ? undefined : value));

    expect(withoutCatchers(strict)).toBe(withoutCatchers(lenient));
  });
});
