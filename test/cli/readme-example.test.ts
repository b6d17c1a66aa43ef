/**
 * The README's test-suite example, run as a user would: copied into a new
 * project folder that has no `.warmstate` folder yet, with Warmstate linked
 * into its node_modules, then run with Vitest and type-checked with tsc.
 * Without allowImportingTsExtensions, tsc reports TS5097 for each `.ts`
 * import in Warmstate's sources (checked by hand with TypeScript 5.9 and 7.0).
 */
import { execFile } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const README = readFileSync(path.join(REPO, "README.md"), "utf8");

interface RunResult {
  code: number;
  output: string;
}

async function run(file: string, args: string[], cwd: string): Promise<RunResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, {
      cwd,
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { code: failed.code, output: (failed.stdout ?? "") + (failed.stderr ?? "") };
  }
}

// Returns the first fenced block of `language` in the section that starts with `heading`.
function codeBlock(heading: string, language: string): string {
  const section = README.slice(README.indexOf(heading));
  const start = section.indexOf(`\`\`\`${language}\n`);
  if (start < 0) throw new Error(`README section "${heading}" has no ${language} code block.`);
  const body = section.slice(start + language.length + 4);
  return body.slice(0, body.indexOf("```"));
}

describe("README test-suite example", () => {
  let project: string;

  beforeAll(() => {
    // Under the repository, so the example's other imports resolve from its node_modules.
    const parent = path.join(REPO, ".warmstate", "test-runs");
    mkdirSync(parent, { recursive: true });
    project = mkdtempSync(path.join(parent, "readme-project-"));
    // A project folder has mode 755 (mkdtemp gives 700), so sandbox users can read its code.
    chmodSync(project, 0o755);
    mkdirSync(path.join(project, "node_modules"));
    symlinkSync(REPO, path.join(project, "node_modules", "warmstate"));
    mkdirSync(path.join(project, "test"));
    writeFileSync(
      path.join(project, "test", "fn.test.ts"),
      codeBlock("## In your own test suite", "ts"),
    );

    // The README gives the handler inline, in the sentence before the block.
    const handler = README.match(/\(`(let n = 0; export const handler = [^`]+)`\)/)?.[1];
    if (!handler) throw new Error("README no longer shows the example's handler inline.");
    mkdirSync(path.join(project, "src", "fn"), { recursive: true });
    writeFileSync(path.join(project, "src", "fn", "index.mjs"), `${handler}\n`);
  });

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it("passes in a new project", async () => {
    const vitest = path.join(REPO, "node_modules", "vitest", "vitest.mjs");
    const result = await run(process.execPath, [vitest, "run"], project);

    expect(result.output).toContain("1 passed");
    expect(result.code).toBe(0);
  });

  it("type-checks with allowImportingTsExtensions", async () => {
    const compilerOptions = {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      skipLibCheck: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      types: ["node"],
    };
    writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({ compilerOptions, include: ["test/**/*.ts"] }),
    );
    const tsc = path.join(REPO, "node_modules", "typescript", "bin", "tsc");
    const result = await run(process.execPath, [tsc, "-p", "."], project);

    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});
