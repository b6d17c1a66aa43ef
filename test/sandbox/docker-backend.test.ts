import { createReadStream, existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Dockerode from "dockerode";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../../simulator/sandbox/backend.ts";
import { DockerBackend, LABELS } from "../../simulator/sandbox/docker-backend.ts";
import { ensureSandboxImage } from "../../simulator/sandbox/docker-image.ts";
import { writeTar } from "../../simulator/sandbox/docker-image-tar.ts";
import type { DockerFreezeMethod } from "../../simulator/sandbox/docker-sandbox.ts";
import { isMountPoint } from "../../simulator/sandbox/docker-tmp.ts";
import {
  findEngineProblem,
  nodeModulesDir,
  OutputCollector,
  probeSpec,
  repositoryRoot,
  runtimeClientDir,
  runtimeClientEntry,
  silentLogger,
} from "./docker-harness.ts";

const docker = new Dockerode();
const awsLikeImageDir = path.join(repositoryRoot, "test/fixtures/docker/aws-like-image");

// An image with the entry-point contract of AWS's Lambda base images, built on the sandbox image.
async function buildAwsLikeImage(base: string, tag: string): Promise<void> {
  const archive = path.join(os.tmpdir(), `warmstate-aws-like-${process.pid}.tar`);
  const script = await readFile(path.join(awsLikeImageDir, "lambda-entrypoint.sh"));
  const dockerfile = `FROM ${base}\nCOPY lambda-entrypoint.sh /lambda-entrypoint.sh\nENTRYPOINT ["/lambda-entrypoint.sh"]\n`;
  await writeTar(archive, [
    { type: "content", name: "Dockerfile", mode: 0o644, content: Buffer.from(dockerfile) },
    { type: "content", name: "lambda-entrypoint.sh", mode: 0o755, content: script },
  ]);
  try {
    const stream = await docker.buildImage(createReadStream(archive), { t: tag, rm: true });
    await new Promise((resolve, reject) =>
      docker.modem.followProgress(
        stream,
        (error: Error | null, events: Array<{ error?: string }>) => {
          const failed = error?.message ?? events.find((event) => event.error)?.error;
          if (failed) reject(new Error(failed));
          else resolve(undefined);
        },
      ),
    );
  } finally {
    await rm(archive, { force: true });
  }
}
const engineProblem = await findEngineProblem(docker);

// In CI the engine is started before the tests, so a missing engine is a failure there.
describe.runIf(engineProblem !== undefined && process.env.CI)("docker engine in CI", () => {
  it("responds", () => {
    expect(engineProblem).toBeUndefined();
  });
});

const skipReason = engineProblem ? ` (skipped: ${engineProblem})` : "";
if (engineProblem && !process.env.CI)
  console.warn(`docker backend tests skipped: ${engineProblem}`);

describe.skipIf(engineProblem !== undefined)(`docker backend${skipReason}`, () => {
  let dataDir: string;
  let backend: DockerBackend;
  const started: Sandbox[] = [];

  async function start(...args: Parameters<typeof probeSpec>): Promise<[Sandbox, OutputCollector]> {
    const sandbox = await backend.start(probeSpec(...args));
    started.push(sandbox);
    return [sandbox, new OutputCollector(sandbox)];
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "warmstate-docker-"));
    backend = new DockerBackend({
      dataDir,
      logger: silentLogger,
      runtimeClientDir,
      runtimeClientEntry,
      nodeModulesDir,
      docker,
    });
  }, 300_000);

  afterEach(async () => {
    await Promise.all(started.splice(0).map((sandbox) => sandbox.stop(500)));
  });

  afterAll(async () => {
    await backend?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  describe("container settings", () => {
    it("applies Lambda's limits to the container", async () => {
      const [sandbox, output] = await start("describe", {
        memoryMb: 512,
        nofile: 1024,
        nproc: 1024,
      });
      await output.line(/"uid"/);

      const containerId = (sandbox as unknown as { containerId: string }).containerId;
      const { HostConfig: host, Config: config } = await docker.getContainer(containerId).inspect();

      expect(host.ReadonlyRootfs).toBe(true);
      expect(host.Memory).toBe(512 * 1024 * 1024);
      expect(host.MemorySwap).toBe(512 * 1024 * 1024);
      expect(host.NanoCpus).toBe(Math.round((512 / 1769) * 1e9));
      expect(host.Ulimits).toEqual(
        expect.arrayContaining([
          { Name: "nofile", Soft: 1024, Hard: 1024 },
          { Name: "nproc", Soft: 1024, Hard: 1024 },
        ]),
      );
      expect(host.NetworkMode).toBe("host");
      expect(config.Labels[LABELS.simulatorPid]).toBe(String(process.pid));
      expect(config.Labels[LABELS.environmentId]).toBe(sandbox.environmentId);
    });

    it("runs as a non-root user with a read-only task root", async () => {
      const [sandbox, output] = await start("describe", {
        env: {
          PROBE_MODE: "describe",
          PROBE_CUSTOM: "set",
          LAMBDA_TASK_ROOT: "/host/path",
          PATH: "/host/bin",
          NODE_PATH: "/host/node_modules",
        },
      });
      const [line] = await output.line(/^\{.*\}$/m);
      const seen = JSON.parse(line);

      expect(sandbox.tmpKind).toBe("ext4 loop image");
      expect(seen.uid).toBe(993);
      expect(seen.taskRoot).toBe("/var/task");
      expect(seen.runtimeDir).toBe("/var/runtime");
      expect(seen.runtimeApi).toBe("127.0.0.1:9");
      expect(seen.path.startsWith("/var/lang/bin:")).toBe(true);
      expect(seen.nodePath).toContain("/opt/nodejs/node_modules");
      expect(seen.nodePath).not.toContain("/host");
      expect(seen.custom).toBe("set");
      expect(seen.writeTaskRoot).toBe("EROFS");
      expect(seen.writeRoot).toBe("EROFS");
      expect(seen.writeTmp).toBe("none");
    });

    it("separates stdout from stderr", async () => {
      const [, output] = await start("describe");
      // The engine copies the two streams separately, so their relative order is not kept.
      await output.waitFor(
        () => output.stderr.includes("to stderr") && output.stdout.includes('"uid"'),
        "a line on each stream",
      );

      expect(output.stdout).not.toContain("to stderr");
      expect(output.stdout).toContain('"uid"');
    });
  });

  describe("start failure", () => {
    it("rejects a missing code folder cleanly", async () => {
      const spec = probeSpec("tick", { codeDir: path.join(dataDir, "no-such-code") });

      await expect(backend.start(spec)).rejects.toThrow(/no-such-code/);

      const containers = await docker.listContainers({
        all: true,
        filters: { label: [`${LABELS.environmentId}=${spec.environmentId}`] },
      });
      expect(containers).toEqual([]);
      expect(
        (await readdir(backend.environmentsDir)).filter((name) =>
          name.endsWith(spec.environmentId),
        ),
      ).toEqual([]);
    });
  });

  describe("image option", () => {
    it("rejects an image the engine lacks", async () => {
      const own = new DockerBackend({
        dataDir,
        logger: silentLogger,
        runtimeClientDir,
        nodeModulesDir,
        docker,
        image: "warmstate/not-built-here:1",
      });

      await expect(own.start(probeSpec("tick"))).rejects.toThrow(
        /warmstate\/not-built-here:1 is not on the engine/,
      );
      await own.close();
    });
  });

  describe("node entry", () => {
    it("runs the runtime client with the node_modules layer", async () => {
      const [, output] = await start("unused", { entry: { kind: "node", nodeMajor: 20 } });
      const [line] = await output.line(/sharp png \d+ bytes/);

      expect(line).toMatch(/sharp png \d+ bytes/);
      expect(output.stderr).toBe("");
    });
  });

  describe("image entry point", () => {
    const awsLikeTag = `warmstate/test-aws-like:${process.pid}`;

    afterAll(async () => {
      await docker
        .getImage(awsLikeTag)
        .remove({ force: true })
        .catch(() => undefined);
    });

    it("runs the image's entry point with the handler", async () => {
      const base = await ensureSandboxImage(docker, {
        nodeModulesDir,
        workDir: dataDir,
        logger: silentLogger,
      });
      await buildAwsLikeImage(base, awsLikeTag);
      const own = new DockerBackend({
        dataDir,
        logger: silentLogger,
        runtimeClientDir,
        nodeModulesDir,
        docker,
        image: awsLikeTag,
        useImageEntrypoint: true,
      });

      const sandbox = await own.start(probeSpec("unused", { env: { _HANDLER: "index.handler" } }));
      const output = new OutputCollector(sandbox);
      const [line] = await output.line(/entrypoint .*/);
      await own.close();

      expect(line).toBe("entrypoint handler=index.handler api=127.0.0.1:9 runtime-files=0");
    });
  });

  describe("runtime api over loopback", () => {
    let server: Server;

    afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("reaches a server on 127.0.0.1 of the host", async () => {
      server = createServer((request, response) => response.end(`seen ${request.url}`));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as AddressInfo).port;

      const [, output] = await start("runtime-api", { runtimeApi: { host: "127.0.0.1", port } });
      const [line] = await output.line(/runtime-api .*/);

      expect(line).toBe("runtime-api 200 seen /2018-06-01/runtime/invocation/next");
    });
  });

  describe("ephemeral storage", () => {
    it("gives ENOSPC at the ephemeral size without an OOM kill", async () => {
      const [sandbox, output] = await start("fill-tmp", { memoryMb: 64, ephemeralStorageMb: 128 });
      const [, code, written] = await output.line(/fill-tmp (\S+) (\d+)/, 60_000);
      const sample = await sandbox.measure();

      expect(code).toBe("ENOSPC");
      // The image is sized so the free space is at least the ephemeral size, and not much more.
      expect(Number(written)).toBeGreaterThanOrEqual(128 * 1024 * 1024);
      expect(Number(written)).toBeLessThan(1.02 * 128 * 1024 * 1024);
      expect(output.exits).toEqual([]);
      expect(sample.tmpFiles).toBe(1);
      expect(sample.tmpBytes).toBeGreaterThanOrEqual(Number(written));
    });

    it("keeps /tmp across a runtime reset", async () => {
      const [sandbox, output] = await start("marker");
      await output.line(/marker created/);

      await sandbox.resetRuntime();
      await output.line(/marker present/);

      expect(output.exits).toHaveLength(1);
      expect(output.exits[0].signal).toBe("SIGKILL");
    });

    it("removes /tmp with the sandbox", async () => {
      const [sandbox, output] = await start("marker");
      await output.line(/marker created/);
      const folders = await readdir(backend.environmentsDir);
      const folder = path.join(
        backend.environmentsDir,
        folders.find((name) => name.endsWith(sandbox.environmentId)) ?? "missing",
      );
      expect(await isMountPoint(path.join(folder, "tmp"))).toBe(true);

      await sandbox.stop(500);

      expect(await isMountPoint(path.join(folder, "tmp"))).toBe(false);
      expect(existsSync(folder)).toBe(false);
    });
  });

  describe("tmpfs fallback", () => {
    let tmpfsBackend: DockerBackend;

    beforeAll(() => {
      tmpfsBackend = new DockerBackend({
        dataDir,
        logger: silentLogger,
        runtimeClientDir,
        runtimeClientEntry,
        nodeModulesDir,
        docker,
        tmp: "tmpfs",
      });
    });

    afterAll(() => tmpfsBackend.close());

    it("measures a tmpfs /tmp through the container", async () => {
      const sandbox = await tmpfsBackend.start(probeSpec("marker"));
      const output = new OutputCollector(sandbox);
      await output.line(/marker created/);

      const sample = await sandbox.measure();
      await sandbox.stop(500);

      expect(sandbox.tmpKind).toBe("tmpfs");
      expect(sample.tmpFiles).toBe(1);
      expect(sample.tmpBytes).toBeGreaterThan(0);
    });

    it("charges tmpfs writes to memory, unlike the loop image", async () => {
      const sandbox = await tmpfsBackend.start(
        probeSpec("fill-tmp", { memoryMb: 64, ephemeralStorageMb: 128 }),
      );
      const output = new OutputCollector(sandbox);
      await output.waitFor(
        () => output.exits.length > 0 || /fill-tmp/.test(output.stdout),
        "an OOM kill or ENOSPC",
        60_000,
      );
      await sandbox.stop(500);

      expect(output.stdout).not.toMatch(/fill-tmp/);
      expect(output.exits[0]?.outOfMemory).toBe(true);
    });
  });

  describe("descriptor limit", () => {
    it("gives EMFILE at 1024 open descriptors", async () => {
      const [sandbox, output] = await start("open-fds");
      const [, code] = await output.line(/open-fds (\S+) (\d+)/);
      const sample = await sandbox.measure();

      expect(code).toBe("EMFILE");
      expect(sample.openDescriptors).toBe(1024);
      expect(
        sample.descriptorTargets.filter((target) => target === "/dev/null").length,
      ).toBeGreaterThan(1000);
    });
  });

  describe("memory limit", () => {
    it("reports an OOM kill", async () => {
      const [, output] = await start("allocate", { memoryMb: 128 });
      await output.waitFor(() => output.exits.length > 0, "the runtime to exit", 60_000);

      expect(output.exits[0].outOfMemory).toBe(true);
      expect(output.exits[0].signal).toBe("SIGKILL");
    });

    it("reports a plain exit as not out of memory", async () => {
      const [, output] = await start("exit");
      await output.waitFor(() => output.exits.length > 0, "the runtime to exit");

      expect(output.exits[0]).toEqual({ exitCode: 3, signal: null, outOfMemory: false });
    });
  });

  describe("measure", () => {
    it("reads processes and memory from outside", async () => {
      const [sandbox, output] = await start("tick");
      await output.line(/tick 2/);
      const sample = await sandbox.measure();

      expect(sample.processCount).toBeGreaterThanOrEqual(1);
      expect(sample.residentBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(sample.peakResidentBytes).toBeGreaterThanOrEqual(sample.residentBytes);
      expect(sample.openDescriptors).toBeGreaterThan(3);
    });
  });

  for (const freezeMethod of ["pause", "cgroup"] satisfies DockerFreezeMethod[]) {
    describe(`freeze with ${freezeMethod}`, () => {
      let methodBackend: DockerBackend;

      beforeAll(() => {
        methodBackend = new DockerBackend({
          dataDir,
          logger: silentLogger,
          runtimeClientDir,
          runtimeClientEntry,
          nodeModulesDir,
          docker,
          freezeMethod,
        });
      });

      afterAll(() => methodBackend.close());

      it("stops ticks until thawed", async () => {
        const sandbox = await methodBackend.start(probeSpec("tick"));
        const output = new OutputCollector(sandbox);
        await output.line(/tick 3/);

        await sandbox.freeze();
        await sleep(200);
        const ticksWhenFrozen = output.stdout.length;
        await sleep(500);
        const ticksAfterWaiting = output.stdout.length;
        await sandbox.thaw();
        await output.waitFor(() => output.stdout.length > ticksAfterWaiting, "ticks after thaw");

        expect(ticksAfterWaiting).toBe(ticksWhenFrozen);
        await sandbox.stop(500);
      });

      it("stops a frozen sandbox", async () => {
        const sandbox = await methodBackend.start(probeSpec("tick"));
        const output = new OutputCollector(sandbox);
        await output.line(/tick 1/);
        await sandbox.freeze();

        await sandbox.stop(500);

        expect(output.exits).toHaveLength(1);
      });
    });
  }

  describe("close", () => {
    it("leaves no container, mount or file behind", async () => {
      const own = new DockerBackend({
        dataDir,
        logger: silentLogger,
        runtimeClientDir,
        runtimeClientEntry,
        nodeModulesDir,
        docker,
      });
      const first = new OutputCollector(await own.start(probeSpec("tick")));
      const second = new OutputCollector(await own.start(probeSpec("marker")));
      await first.line(/tick 1/);
      await second.line(/marker/);

      await own.close();

      const containers = await docker.listContainers({
        all: true,
        filters: { label: [`${LABELS.simulatorPid}=${process.pid}`] },
      });
      expect(containers.map((container) => container.Labels[LABELS.environmentId])).toEqual([]);
      expect(await readdir(own.environmentsDir)).toEqual([]);
    });
  });
});
