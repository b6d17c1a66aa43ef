import { readFileSync } from "node:fs";
import path from "node:path";
import {
  CreateFunctionCommand,
  InvokeCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import { afterEach, describe, expect, it } from "vitest";
import { createZip } from "../../simulator/lambda/api/zip-archive.ts";
import {
  type LogLine,
  makeProject,
  type ProjectSimulator,
  startInProject,
  writeFiles,
} from "./support/project.ts";

// `typeof require` is "function" only when Node.js loads the file as CommonJS.
const COMMONJS_HANDLER =
  "exports.handler = async () => ({ moduleSystem: typeof require === 'function' ? 'commonjs' : 'esm' });\n";

const WAITER = { maxWaitTime: 30, minDelay: 1, maxDelay: 1 };

let running: ProjectSimulator | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function invokeJson(stack: ProjectSimulator, functionName: string) {
  const response = await stack.lambda.send(new InvokeCommand({ FunctionName: functionName }));
  return {
    functionError: response.FunctionError,
    body: JSON.parse(Buffer.from(response.Payload ?? []).toString("utf8")) as Record<
      string,
      unknown
    >,
  };
}

function moduleTypeWarnings(log: LogLine[]): LogLine[] {
  return log.filter((line) => line.level === 40 && String(line.msg).includes("ES module"));
}

describe("zip code in a project with type module", () => {
  it("loads a CommonJS index.js as CommonJS", async () => {
    const project = makeProject("zip-cjs", { name: "user-project", type: "module" });
    running = await startInProject(project);

    await running.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "cjs-zip",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/lambda-role",
        Handler: "index.handler",
        Code: { ZipFile: createZip({ "index.js": COMMONJS_HANDLER }) },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: running.lambda, ...WAITER },
      { FunctionName: "cjs-zip" },
    );
    const result = await invokeJson(running, "cjs-zip");

    expect(result.functionError).toBeUndefined();
    expect(result.body).toEqual({ moduleSystem: "commonjs" });
  });

  it("puts an empty package.json above the unpacked code", async () => {
    const project = makeProject("zip-boundary", { type: "module" });
    running = await startInProject(project);

    await running.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "boundary",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/lambda-role",
        Handler: "index.handler",
        Code: { ZipFile: createZip({ "index.js": COMMONJS_HANDLER }) },
      }),
    );
    const boundary = path.join(project, ".warmstate", "functions", "boundary", "package.json");

    expect(JSON.parse(readFileSync(boundary, "utf8"))).toEqual({});
  });

  it("keeps the type of a package.json inside the zip", async () => {
    const project = makeProject("zip-own-type", { type: "module" });
    running = await startInProject(project);

    await running.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "own-type",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/lambda-role",
        Handler: "index.handler",
        Code: {
          ZipFile: createZip({
            "package.json": '{"type":"module"}',
            "index.js":
              "export const handler = async () => ({ moduleSystem: typeof require === 'function' ? 'commonjs' : 'esm' });\n",
          }),
        },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: running.lambda, ...WAITER },
      { FunctionName: "own-type" },
    );
    const result = await invokeJson(running, "own-type");

    expect(result.functionError).toBeUndefined();
    expect(result.body).toEqual({ moduleSystem: "esm" });
  });
});

describe("hot-reload code in a project with type module", () => {
  it("warns that Lambda loads the .js handler as CommonJS", async () => {
    const project = makeProject("hot-cjs", { type: "module" });
    const codeDir = path.join(project, "fn");
    writeFiles(codeDir, { "index.js": COMMONJS_HANDLER });
    running = await startInProject(project);

    await running.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "hot-cjs",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/lambda-role",
        Handler: "index.handler",
        Code: { S3Bucket: "hot-reload", S3Key: codeDir },
      }),
    );
    const warnings = moduleTypeWarnings(running.log);

    expect(warnings).toHaveLength(1);
    expect(warnings[0].functionName).toBe("hot-cjs");
    expect(warnings[0].codeDir).toBe(codeDir);
    expect(warnings[0].packageJson).toBe(path.join(project, "package.json"));
    expect(warnings[0].handlerFile).toBe(path.join(codeDir, "index.js"));
    expect(warnings[0].fix).toContain(`Add a package.json to ${codeDir}`);
  });

  it("keeps loading the code in place as an ES module", async () => {
    const project = makeProject("hot-in-place", { type: "module" });
    const codeDir = path.join(project, "fn");
    writeFiles(codeDir, {
      "index.js":
        "export const handler = async () => ({ moduleSystem: typeof require === 'function' ? 'commonjs' : 'esm' });\n",
    });
    running = await startInProject(project);

    await running.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "hot-in-place",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/lambda-role",
        Handler: "index.handler",
        Code: { S3Bucket: "hot-reload", S3Key: codeDir },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: running.lambda, ...WAITER },
      { FunctionName: "hot-in-place" },
    );
    const result = await invokeJson(running, "hot-in-place");

    expect(result.body).toEqual({ moduleSystem: "esm" });
  });

  it("does not warn when the folder has its own package.json", async () => {
    const project = makeProject("hot-own-package", { type: "module" });
    const codeDir = path.join(project, "fn");
    writeFiles(codeDir, { "index.js": COMMONJS_HANDLER, "package.json": "{}" });
    running = await startInProject(project);

    await running.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "hot-own-package",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/lambda-role",
        Handler: "index.handler",
        Code: { S3Bucket: "hot-reload", S3Key: codeDir },
      }),
    );
    const created = running.log.filter((line) => line.msg === "function created");

    expect(created).toHaveLength(1);
    expect(moduleTypeWarnings(running.log)).toEqual([]);
  });

  it("does not warn for an .mjs handler", async () => {
    const project = makeProject("hot-mjs", { type: "module" });
    const codeDir = path.join(project, "fn");
    writeFiles(codeDir, { "index.mjs": "export const handler = async () => 1;\n" });
    running = await startInProject(project);

    await running.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "hot-mjs",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/lambda-role",
        Handler: "index.handler",
        Code: { S3Bucket: "hot-reload", S3Key: codeDir },
      }),
    );

    expect(running.log.some((line) => line.msg === "function created")).toBe(true);
    expect(moduleTypeWarnings(running.log)).toEqual([]);
  });

  it("warns on UpdateFunctionCode to such a folder", async () => {
    const project = makeProject("hot-update", { type: "module" });
    const goodDir = path.join(project, "good");
    const badDir = path.join(project, "bad");
    writeFiles(goodDir, { "index.js": COMMONJS_HANDLER, "package.json": "{}" });
    writeFiles(badDir, { "index.js": COMMONJS_HANDLER });
    running = await startInProject(project);
    await running.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "hot-update",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/lambda-role",
        Handler: "index.handler",
        Code: { S3Bucket: "hot-reload", S3Key: goodDir },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: running.lambda, ...WAITER },
      { FunctionName: "hot-update" },
    );

    await running.lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: "hot-update",
        S3Bucket: "hot-reload",
        S3Key: badDir,
      }),
    );
    await waitUntilFunctionUpdatedV2(
      { client: running.lambda, ...WAITER },
      { FunctionName: "hot-update" },
    );
    const warnings = moduleTypeWarnings(running.log);

    expect(warnings).toHaveLength(1);
    expect(warnings[0].codeDir).toBe(badDir);
  });
});
