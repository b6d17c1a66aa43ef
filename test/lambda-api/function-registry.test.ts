import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RealClock, VirtualClock } from "../../simulator/clock.ts";
import { createZip, MAX_UNZIPPED_BYTES, readZip } from "../../simulator/lambda/api/zip-archive.ts";
import {
  InvalidParameterValueException,
  ResourceNotFoundException,
} from "../../simulator/lambda/errors.ts";
import { FunctionRegistry } from "../../simulator/lambda/function-registry.ts";
import { createLogger } from "../../simulator/logger.ts";
import { FUNCTION_FIXTURES, makeDataDir } from "./support/stack.ts";

const logger = createLogger({ level: "silent" });
const ECHO_SOURCE = readFileSync(path.join(FUNCTION_FIXTURES, "api-echo/index.mjs"));

let dataDir: string;
let registries: FunctionRegistry[] = [];

function openRegistry(
  options: { clock?: VirtualClock | RealClock; transitionMs?: number } = {},
): FunctionRegistry {
  const registry = new FunctionRegistry({
    dataDir,
    clock: options.clock ?? new RealClock(),
    logger,
    transitionMs: options.transitionMs ?? 0,
  });
  registries.push(registry);
  return registry;
}

async function createEcho(registry: FunctionRegistry, name: string, tags?: Record<string, string>) {
  return registry.createFunction({
    functionName: name,
    runtime: "nodejs20.x",
    handler: "index.handler",
    code: { zipFile: createZip({ "index.mjs": ECHO_SOURCE }) },
    tags,
  });
}

beforeEach(() => {
  dataDir = makeDataDir("registry");
});

afterEach(() => {
  for (const registry of registries) registry.close();
  registries = [];
  rmSync(dataDir, { recursive: true, force: true });
});

describe("function registry persistence", () => {
  it("keeps functions, versions and aliases across a restart", async () => {
    const first = openRegistry();
    await createEcho(first, "kept");
    first.publishVersion("kept", { description: "v1" });
    first.createAlias("kept", { name: "live", functionVersion: "1", description: "" });
    first.setReservedConcurrency("kept", 5);
    first.close();

    const second = openRegistry();

    expect(second.functionNames()).toEqual(["kept"]);
    expect(second.listVersions("kept").map((version) => version.version)).toEqual(["$LATEST", "1"]);
    expect(second.getAlias("kept", "live").functionVersion).toBe("1");
    expect(second.reservedConcurrency("kept")).toBe(5);
    expect(second.resolve("kept", "live").version).toBe("1");
  });

  it("starts empty and keeps an unreadable registry file aside", () => {
    mkdirSync(path.join(dataDir, "functions"), { recursive: true });
    writeFileSync(path.join(dataDir, "functions", "registry.json"), "{ not json");

    const registry = openRegistry();

    expect(registry.functionNames()).toEqual([]);
    expect(
      readdirSync(path.join(dataDir, "functions")).some((name) =>
        name.startsWith("registry.json.corrupt-"),
      ),
    ).toBe(true);
  });

  it("unpacks zip code into a folder named after its hash", async () => {
    const registry = openRegistry();

    const created = await createEcho(registry, "unpacked");

    const hex = Buffer.from(created.codeSha256, "base64").toString("hex");
    expect(created.config.codeDir).toBe(path.join(dataDir, "functions", "unpacked", hex));
    expect(readFileSync(path.join(created.config.codeDir, "index.mjs"))).toEqual(ECHO_SOURCE);
  });
});

describe("function registry resolution", () => {
  it("accepts names, partial ARNs and ARNs", async () => {
    const registry = openRegistry();
    await createEcho(registry, "named");
    registry.publishVersion("named", {});

    const references = [
      ["named", undefined, "$LATEST"],
      ["000000000000:function:named", undefined, "$LATEST"],
      ["arn:aws:lambda:us-east-1:000000000000:function:named", undefined, "$LATEST"],
      ["arn:aws:lambda:us-east-1:000000000000:function:named:1", undefined, "1"],
      ["named:1", undefined, "1"],
      ["named", "1", "1"],
    ] as const;
    for (const [reference, qualifier, version] of references) {
      expect(registry.resolve(reference, qualifier).version, reference).toBe(version);
    }
  });

  it("rejects a qualifier that contradicts the ARN", async () => {
    const registry = openRegistry();
    await createEcho(registry, "contradicted");

    expect(() => registry.resolve("contradicted:1", "2")).toThrow(InvalidParameterValueException);
  });

  it("raises ResourceNotFoundException for an unknown alias", async () => {
    const registry = openRegistry();
    await createEcho(registry, "aliasless");

    expect(() => registry.resolve("aliasless", "prod")).toThrow(ResourceNotFoundException);
  });

  it("routes an alias by its additional version weight", async () => {
    const registry = openRegistry();
    await createEcho(registry, "weighted");
    registry.publishVersion("weighted", {});
    registry.updateFunctionConfiguration("weighted", { description: "second" });
    registry.publishVersion("weighted", {});
    registry.createAlias("weighted", {
      name: "canary",
      functionVersion: "1",
      description: "",
      additionalVersionWeights: { "2": 1 },
    });

    const versions = new Set(
      Array.from({ length: 20 }, () => registry.resolve("weighted", "canary").version),
    );

    expect([...versions]).toEqual(["2"]);
  });

  it("publishes no new version while $LATEST is unchanged", async () => {
    const registry = openRegistry();
    await createEcho(registry, "unchanged");

    const first = registry.publishVersion("unchanged", {});
    const again = registry.publishVersion("unchanged", {});

    expect(first.version).toBe("1");
    expect(again.version).toBe("1");
  });

  it("gives a new configuration id after a configuration update", async () => {
    const registry = openRegistry();
    await createEcho(registry, "changing");
    const before = registry.resolve("changing").configurationId;
    const changed: string[] = [];
    registry.on("configuration-changed", (name) => changed.push(name));

    registry.updateFunctionConfiguration("changing", { environment: { MARK: "2" } });

    expect(registry.resolve("changing").configurationId).not.toBe(before);
    expect(changed).toEqual(["changing"]);
  });

  it("keeps the configuration id when only reserved concurrency changes", async () => {
    const registry = openRegistry();
    await createEcho(registry, "steady");
    const before = registry.resolve("steady").configurationId;

    registry.setReservedConcurrency("steady", 3);

    expect(registry.resolve("steady").configurationId).toBe(before);
    expect(registry.resolve("steady").config.reservedConcurrency).toBe(3);
  });
});

describe("function registry states", () => {
  it("moves from Pending to Active on the simulator clock", async () => {
    const clock = new VirtualClock({ start: Date.now(), speed: 1, jumpIdle: true });
    const registry = openRegistry({ clock, transitionMs: 5_000 });

    const created = await createEcho(registry, "pending");
    expect(created.state).toBe("Pending");
    await clock.sleep(5_001);

    expect(registry.getFunction("pending").state).toBe("Active");
    expect(registry.getFunction("pending").lastUpdateStatus).toBe("Successful");
    clock.stop();
  });
});

describe("function registry settings tags", () => {
  it("reads keep-alive, lifetime and freeze from tags", async () => {
    const registry = openRegistry();

    const created = await createEcho(registry, "tuned", {
      "warmstate:keep-alive-seconds": "30",
      "warmstate:max-lifetime-seconds": "120",
      "warmstate:freeze": "false",
    });

    expect(created.config.simulator).toEqual({
      keepAliveSeconds: 30,
      maxLifetimeSeconds: 120,
      freeze: false,
    });
  });

  it("rejects out-of-range and malformed values", async () => {
    const registry = openRegistry();
    const cases: Array<Record<string, string>> = [
      { "warmstate:keep-alive-seconds": "0" },
      { "warmstate:keep-alive-seconds": "1.5" },
      { "warmstate:max-lifetime-seconds": "99999999" },
      { "warmstate:freeze": "yes" },
    ];

    for (const tags of cases) {
      await expect(createEcho(registry, "bad-tags", tags), JSON.stringify(tags)).rejects.toThrow(
        InvalidParameterValueException,
      );
    }
  });

  it("recycles the configuration when a setting tag changes", async () => {
    const registry = openRegistry();
    await createEcho(registry, "retagged");
    const before = registry.resolve("retagged").configurationId;

    registry.updateTags("retagged", { "warmstate:keep-alive-seconds": "5" });

    expect(registry.resolve("retagged").config.simulator.keepAliveSeconds).toBe(5);
    expect(registry.resolve("retagged").configurationId).not.toBe(before);
  });
});

describe("function registry hot reload", () => {
  it("emits configuration-changed when a file of the folder changes", async () => {
    const folder = path.join(dataDir, "live-code");
    mkdirSync(folder);
    cpSync(path.join(FUNCTION_FIXTURES, "api-echo"), folder, { recursive: true });
    const registry = openRegistry();
    const created = await registry.createFunction({
      functionName: "hot",
      runtime: "nodejs20.x",
      handler: "index.handler",
      code: { hotReloadDir: folder },
    });
    const firstSha = created.codeSha256;
    const changed = new Promise<string>((resolve) =>
      registry.once("configuration-changed", resolve),
    );

    writeFileSync(path.join(folder, "extra.mjs"), "export const extra = 1;\n");

    expect(await changed).toBe("hot");
    expect(registry.getFunction("hot").codeSha256).not.toBe(firstSha);
    expect(registry.getFunction("hot").config.codeDir).toBe(folder);
  });

  it("rejects a relative hot-reload folder", async () => {
    const registry = openRegistry();

    const creation = registry.createFunction({
      functionName: "relative",
      runtime: "nodejs20.x",
      handler: "index.handler",
      code: { hotReloadDir: "code/here" },
    });

    await expect(creation).rejects.toThrow(/absolute path/);
  });
});

describe("zip archives", () => {
  it("reads back what createZip wrote", () => {
    const archive = createZip({
      "index.mjs": "export const handler = 1;",
      "lib/util.js": Buffer.from([1, 2, 3]),
    });

    const entries = readZip(archive);

    expect(entries.map((entry) => entry.name)).toEqual(["index.mjs", "lib/util.js"]);
    expect(entries[0].data.toString()).toBe("export const handler = 1;");
    expect([...entries[1].data]).toEqual([1, 2, 3]);
  });

  it("rejects an archive that unzips past 250 MB", () => {
    const archive = createZip({ "zeros.bin": Buffer.alloc(MAX_UNZIPPED_BYTES + 1) });

    expect(() => readZip(archive)).toThrow(/Unzipped size must be smaller than 262144000 bytes/);
  });

  it("rejects bytes that are not a zip archive", () => {
    expect(() => readZip(Buffer.from("definitely not a zip file, just some text"))).toThrow(
      InvalidParameterValueException,
    );
  });

  it("rejects entries that escape the code folder", async () => {
    const registry = openRegistry();

    const creation = registry.createFunction({
      functionName: "escaping",
      runtime: "nodejs20.x",
      handler: "index.handler",
      code: { zipFile: createZip({ "../outside.mjs": "x" }) },
    });

    await expect(creation).rejects.toThrow(/outside the archive root/);
  });
});
