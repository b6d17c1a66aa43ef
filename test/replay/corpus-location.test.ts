import { execFile } from "node:child_process";
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePdf } from "../../functions/shared/generate-pdf.mjs";
import {
  CORPUS_DIR_VARIABLE,
  CorpusError,
  checkCorpus,
  DEFAULT_CORPUS_DIR,
  locateCorpus,
} from "../../simulator/replay/corpus-location.ts";
import { clientConfig } from "../../simulator/replay/deploy.ts";
import { parseScenario } from "../../simulator/replay/scenario-loader.ts";
import { startSimulator } from "../../simulator/simulator.ts";

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, "..", "..");
const parent = path.join(REPO, ".warmstate", "test-runs");
mkdirSync(parent, { recursive: true });
const folder = mkdtempSync(path.join(parent, "corpus-"));
// Process sandboxes run as another user and read the function code from here.
chmodSync(folder, 0o755);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const mix = parseScenario({
  name: "mix",
  duration: "1m",
  arrivals: { model: "constant", every: "1m" },
}).documents;

// Two arrivals of one document each, every document drawn from the corpus when there is one.
const SCENARIO_YAML = `name: corpus-check
seed: 5
duration: 2m
arrivals: { model: constant, every: 1m, documents: 1 }
documents: { corpusShare: 1, pages: [{ range: [1, 1], weight: 1 }], distinct: 1 }
drive: { target: state-machine, stateMachine: pdf-batch }
toggles: { CLEAN_TMP: true, CLOSE_FDS: true }
`;

/** Runs `warmstate replay` of `bin` as a user would, returning its exit code and output. */
async function replay(bin: string, args: string[], environment: NodeJS.ProcessEnv = {}) {
  const scenarioFile = path.join(folder, "corpus-check.yaml");
  writeFileSync(scenarioFile, SCENARIO_YAML);
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [bin, "replay", "--scenario", scenarioFile, ...args],
      {
        cwd: folder,
        env: { ...process.env, [CORPUS_DIR_VARIABLE]: "", ...environment },
        timeout: 240_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return { code: failed.code ?? -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Lists the input keys in a kept replay data folder, through the S3 API of a new simulator. */
async function inputKeys(dataDir: string): Promise<string[]> {
  const simulator = await startSimulator({ dataDir, logLevel: "silent" });
  const s3 = new S3Client({ ...clientConfig(simulator.endpoint), forcePathStyle: true });
  try {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: "warmstate-pdf-pipeline", Prefix: "in/" }),
    );
    return (listed.Contents ?? []).map((object) => object.Key as string);
  } finally {
    s3.destroy();
    await simulator.close();
  }
}

describe("corpus location", () => {
  it("prefers --corpus over the variable", () => {
    const location = locateCorpus("a/b", { [CORPUS_DIR_VARIABLE]: "/from/variable" });

    expect(location).toEqual({ dir: path.resolve("a/b"), source: "option" });
  });

  it("uses the variable without --corpus", () => {
    const location = locateCorpus(undefined, { [CORPUS_DIR_VARIABLE]: "/from/variable" });

    expect(location).toEqual({ dir: "/from/variable", source: "environment" });
  });

  it("falls back to the default folder", () => {
    const location = locateCorpus(undefined, { [CORPUS_DIR_VARIABLE]: "" });

    expect(location).toEqual({ dir: DEFAULT_CORPUS_DIR, source: "default" });
  });
});

describe("corpus check", () => {
  const missing = path.join(folder, "no-such-corpus");

  it("rejects a missing --corpus folder", () => {
    const check = () => checkCorpus({ dir: missing, source: "option" }, mix);

    expect(check).toThrow(CorpusError);
    expect(check).toThrow(`Corpus folder ${missing} (from --corpus) not found.`);
  });

  it("rejects a variable folder without PDFs", () => {
    const empty = path.join(folder, "empty-corpus");
    mkdirSync(empty, { recursive: true });

    const check = () => checkCorpus({ dir: empty, source: "environment" }, mix);

    expect(check).toThrow(`(from ${CORPUS_DIR_VARIABLE}) contains no .pdf file`);
  });

  it("warns when the default folder is missing", () => {
    const { warning, notice } = checkCorpus({ dir: missing, source: "default" }, mix);

    expect(notice).toBeUndefined();
    expect(warning).toContain(`the PDF corpus folder ${missing} not found`);
    expect(warning).toContain("generated documents only");
    expect(warning).toContain("--corpus DIR");
    expect(warning).toContain(`${CORPUS_DIR_VARIABLE}=DIR`);
  });

  it("stays quiet when the scenario uses no corpus", () => {
    const generatedOnly = { ...mix, corpusShare: 0, badRate: 0 };

    expect(checkCorpus({ dir: missing, source: "default" }, generatedOnly)).toEqual({});
  });

  it("names the folder and its PDF count", async () => {
    const corpus = path.join(folder, "count-corpus");
    mkdirSync(corpus, { recursive: true });
    writeFileSync(path.join(corpus, "one.pdf"), await generatePdf({ pages: 1 }));
    writeFileSync(path.join(corpus, "notes.txt"), "not a PDF");

    const { warning, notice } = checkCorpus({ dir: corpus, source: "option" }, mix);

    expect(warning).toBeUndefined();
    expect(notice).toBe(`PDF corpus: 1 files in ${corpus} (--corpus).`);
  });
});

// A clone without the corpus beside it: the replay must warn and still run end to end.
describe("replay of a clone without corpus", () => {
  const clone = path.join(folder, "clone");
  let result: Awaited<ReturnType<typeof replay>>;

  beforeAll(async () => {
    mkdirSync(clone);
    for (const entry of ["bin", "simulator", "functions", "pipelines", "package.json"])
      cpSync(path.join(REPO, entry), path.join(clone, entry), { recursive: true });
    symlinkSync(path.join(REPO, "node_modules"), path.join(clone, "node_modules"));

    result = await replay(path.join(clone, "bin", "warmstate.js"), [
      "--out",
      path.join(folder, "clone-run"),
    ]);
  }, 300_000);

  it("exits 0 and runs every execution", () => {
    const report = JSON.parse(readFileSync(path.join(folder, "clone-run", "report.json"), "utf8"));

    expect(result.code).toBe(0);
    expect(report.executions).toMatchObject({ started: 2, succeeded: 2 });
  });

  it("warns with the missing path", () => {
    const expected = path.join(folder, "shared", "corpus", "pdfs");

    expect(result.stderr).toContain(`Warning: the PDF corpus folder ${expected} not found.`);
    expect(result.stderr).toContain("This replay sends generated documents only");
  });
});

describe("replay with --corpus", () => {
  const corpus = path.join(folder, "corpus");
  const out = path.join(folder, "corpus-run");
  let result: Awaited<ReturnType<typeof replay>>;

  beforeAll(async () => {
    mkdirSync(corpus);
    writeFileSync(path.join(corpus, "letter.pdf"), await generatePdf({ pages: 1, seed: 7 }));
    writeFileSync(path.join(corpus, "memo.pdf"), await generatePdf({ pages: 2, seed: 8 }));

    result = await replay(path.join(REPO, "bin", "warmstate.js"), [
      "--corpus",
      corpus,
      "--out",
      out,
      "--keep-data",
    ]);
  }, 300_000);

  it("names the corpus instead of warning", () => {
    const report = JSON.parse(readFileSync(path.join(out, "report.json"), "utf8"));

    expect(result.code).toBe(0);
    expect(report.executions).toMatchObject({ started: 2, succeeded: 2 });
    expect(result.stderr).toContain(`PDF corpus: 2 files in ${corpus} (--corpus).`);
    expect(result.stderr).not.toContain("Warning: the PDF corpus folder");
  });

  it("uploads only corpus documents", async () => {
    const keys = await inputKeys(path.join(out, "data"));

    expect(keys).toHaveLength(2);
    for (const key of keys) expect(key).toMatch(/^in\/\d{5}\/0-corpus-(letter|memo)\.pdf$/);
  }, 60_000);

  it("reads the folder from the variable", async () => {
    const fromVariable = await replay(
      path.join(REPO, "bin", "warmstate.js"),
      ["--out", path.join(folder, "variable-run")],
      { [CORPUS_DIR_VARIABLE]: corpus },
    );

    expect(fromVariable.code).toBe(0);
    expect(fromVariable.stderr).toContain(
      `PDF corpus: 2 files in ${corpus} (${CORPUS_DIR_VARIABLE}).`,
    );
  }, 300_000);
});
