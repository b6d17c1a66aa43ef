import { chmodSync, chownSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  InvalidParameterValueException,
  InvokeCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionActiveV2,
} from "@aws-sdk/client-lambda";
import { afterEach, describe, expect, it } from "vitest";
import { createZip } from "../../simulator/lambda/api/zip-archive.ts";
import { findUnreadableFolder } from "../../simulator/lambda/code-folder-checks.ts";
import {
  makeProject,
  type ProjectSimulator,
  startInProject,
  writeFiles,
} from "./support/project.ts";

// As root, the process backend runs each sandbox as its own uid, so the
// permission bits for other users decide what a function can read. Without
// root the sandbox runs as the simulator's own user and nothing is checked.
const runsAsRoot = process.getuid?.() === 0;

const HANDLER = "exports.handler = async () => 'ran';\n";
const WAITER = { maxWaitTime: 30, minDelay: 1, maxDelay: 1 };

let running: ProjectSimulator | undefined;
// Project folders of tests that start no simulator.
const folders: string[] = [];

afterEach(async () => {
  await running?.close();
  running = undefined;
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

async function createHotReload(stack: ProjectSimulator, name: string, codeDir: string) {
  return stack.lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: "nodejs20.x",
      Role: "arn:aws:iam::000000000000:role/lambda-role",
      Handler: "index.handler",
      Code: { S3Bucket: "hot-reload", S3Key: codeDir },
    }),
  );
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (thrown: Error) => thrown,
  );
  if (!error) throw new Error("expected the request to be rejected, but it succeeded");
  return error;
}

describe.skipIf(!runsAsRoot)("code folders the sandbox user cannot read (needs root)", () => {
  it("rejects CreateFunction under a folder with mode 700", async () => {
    const project = makeProject("perm-parent", {});
    const privateDir = path.join(project, "private");
    const codeDir = path.join(privateDir, "fn");
    writeFiles(codeDir, { "index.js": HANDLER });
    chmodSync(privateDir, 0o700);
    running = await startInProject(project);

    const error = await rejection(createHotReload(running, "private-parent", codeDir));

    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toContain(`cannot read the code folder ${codeDir}`);
    expect(error.message).toContain(`lack x permission on ${privateDir} (mode 700)`);
    expect(error.message).toContain(`chmod o+x ${privateDir}`);
  });

  it("rejects CreateFunction for a code folder with mode 700", async () => {
    const project = makeProject("perm-code", {});
    const codeDir = path.join(project, "fn");
    writeFiles(codeDir, { "index.js": HANDLER });
    chmodSync(codeDir, 0o700);
    running = await startInProject(project);

    const error = await rejection(createHotReload(running, "private-code", codeDir));

    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toContain(`lack rx permission on ${codeDir} (mode 700)`);
    expect(error.message).toContain(`chmod o+rx ${codeDir}`);
  });

  it("rejects UpdateFunctionCode and keeps the old code", async () => {
    const project = makeProject("perm-update", {});
    const readableDir = path.join(project, "fn");
    const privateDir = path.join(project, "private");
    writeFiles(readableDir, { "index.js": HANDLER });
    writeFiles(path.join(privateDir, "fn"), { "index.js": HANDLER });
    chmodSync(privateDir, 0o700);
    running = await startInProject(project);
    await createHotReload(running, "update-private", readableDir);
    await waitUntilFunctionActiveV2(
      { client: running.lambda, ...WAITER },
      { FunctionName: "update-private" },
    );

    const error = await rejection(
      running.lambda.send(
        new UpdateFunctionCodeCommand({
          FunctionName: "update-private",
          S3Bucket: "hot-reload",
          S3Key: path.join(privateDir, "fn"),
        }),
      ),
    );
    const configuration = await running.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: "update-private" }),
    );

    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toContain(`chmod o+x ${privateDir}`);
    expect(running.simulator.lambda.registry.getFunction("update-private").config.codeDir).toBe(
      readableDir,
    );
    expect(configuration.LastUpdateStatus).not.toBe("Failed");
  });

  it("rejects a zip under an unreadable data directory", async () => {
    const project = makeProject("perm-zip", {});
    running = await startInProject(project);
    chmodSync(project, 0o700);

    const error = await rejection(
      running.lambda.send(
        new CreateFunctionCommand({
          FunctionName: "zip-private",
          Runtime: "nodejs20.x",
          Role: "arn:aws:iam::000000000000:role/lambda-role",
          Handler: "index.handler",
          Code: { ZipFile: createZip({ "index.js": HANDLER }) },
        }),
      ),
    );

    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toContain("Invalid value for Code.ZipFile");
    expect(error.message).toContain(`chmod o+x ${project}`);
    expect(error.message).toContain("--data-dir");
  });

  it("accepts and runs code that others can read", async () => {
    const project = makeProject("perm-readable", {});
    const codeDir = path.join(project, "fn");
    writeFiles(codeDir, { "index.js": HANDLER });
    running = await startInProject(project);

    await createHotReload(running, "readable", codeDir);
    await waitUntilFunctionActiveV2(
      { client: running.lambda, ...WAITER },
      { FunctionName: "readable" },
    );
    const response = await running.lambda.send(new InvokeCommand({ FunctionName: "readable" }));

    expect(response.FunctionError).toBeUndefined();
    expect(Buffer.from(response.Payload ?? []).toString("utf8")).toBe('"ran"');
  });
});

describe("code folder access rules", () => {
  it("accepts anything when the sandbox runs as the simulator's user", () => {
    const project = makeProject("rule-same-user");
    folders.push(project);
    const codeDir = path.join(project, "fn");
    mkdirSync(codeDir, { mode: 0o700 });
    chmodSync(codeDir, 0o700);

    expect(findUnreadableFolder(codeDir, { kind: "same-user" })).toBeUndefined();
  });

  it("ignores folders above a code folder that docker mounts", () => {
    const project = makeProject("rule-mount");
    folders.push(project);
    const privateDir = path.join(project, "private");
    const codeDir = path.join(privateDir, "fn");
    mkdirSync(codeDir, { recursive: true });
    chmodSync(codeDir, 0o755);
    chmodSync(privateDir, 0o700);
    const access = { kind: "other-user", via: "mount", uid: 993, gid: 990 } as const;

    expect(findUnreadableFolder(codeDir, access)).toBeUndefined();
    expect(findUnreadableFolder(privateDir, access)).toEqual({
      folder: privateDir,
      mode: "700",
      missing: "rx",
    });
  });

  it.skipIf(!runsAsRoot)("uses the owner bits when the sandbox user owns the folder", () => {
    const project = makeProject("rule-owner");
    folders.push(project);
    const codeDir = path.join(project, "fn");
    mkdirSync(codeDir);
    chmodSync(codeDir, 0o700);
    chownSync(codeDir, 993, 990);
    const access = { kind: "other-user", via: "mount", uid: 993, gid: 990 } as const;

    expect(findUnreadableFolder(codeDir, access)).toBeUndefined();
    expect(findUnreadableFolder(codeDir, { kind: "other-user", via: "mount" })?.missing).toBe("rx");
  });

  it("needs search permission on every folder above a host-path code folder", () => {
    const project = makeProject("rule-host-path");
    folders.push(project);
    const middle = path.join(project, "middle");
    const codeDir = path.join(middle, "fn");
    mkdirSync(codeDir, { recursive: true });
    chmodSync(middle, 0o750);

    expect(findUnreadableFolder(codeDir, { kind: "other-user", via: "host-path" })).toEqual({
      folder: middle,
      mode: "750",
      missing: "x",
    });
  });
});
