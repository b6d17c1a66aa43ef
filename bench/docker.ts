/**
 * The docker backend against its baselines: a cold start against
 * `docker run --rm` of the same image with a no-op command (through
 * dockerode, as docker/measure-costs.ts times it), and warm invoke
 * overhead against the process backend, both measured in this run.
 * Skipped, with the reason in the output, when no Docker Engine answers.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Dockerode from "dockerode";
import pino from "pino";
import { ensureSandboxImage } from "../simulator/sandbox/docker-image.ts";
import { PACKAGE_ROOT } from "../simulator/simulator.ts";
import { startBenchSimulator } from "./noop-simulator.ts";
import { round, summarize, timeEach } from "./stats.ts";

const WARM_SAMPLES = 500;
const COLD_SAMPLES = 8;

/** Measures the docker backend's cold start and warm invoke ratios, or returns `docker.skipped` with the reason. */
export async function benchDocker(): Promise<Record<string, number | string>> {
  const docker = new Dockerode();
  const reason = await engineUnavailable(docker);
  if (reason) return { "docker.skipped": reason };

  const image = await sandboxImage(docker);
  const bareExited: number[] = [];
  const bareRemoved: number[] = [];
  await bareRun(docker, image);
  for (let i = 0; i < COLD_SAMPLES; i++) {
    const { exited, removed } = await bareRun(docker, image);
    bareExited.push(exited);
    bareRemoved.push(removed);
  }

  const dockerSide = await measureBackend("docker", COLD_SAMPLES);
  const processSide = await measureBackend("process", 0);
  const cold = summarize(dockerSide.cold);
  const exited = summarize(bareExited);
  const removed = summarize(bareRemoved);
  const dockerWarm = summarize(dockerSide.warm);
  const processWarm = summarize(processSide.warm);

  return {
    "docker.cold_start_samples": COLD_SAMPLES,
    "docker.cold_start_p50_ms": round(cold.p50),
    "docker.run_noop_until_exit_p50_ms": round(exited.p50),
    "docker.run_noop_with_removal_p50_ms": round(removed.p50),
    "docker.cold_start_ratio_p50": round(cold.p50 / exited.p50),
    "docker.cold_start_ratio_with_removal_p50": round(cold.p50 / removed.p50),
    "docker.warm_samples": WARM_SAMPLES,
    "docker.warm_invoke_p50_ms": round(dockerWarm.p50),
    "docker.warm_invoke_p99_ms": round(dockerWarm.p99),
    "docker.process_warm_invoke_p50_ms": round(processWarm.p50),
    "docker.process_warm_invoke_p99_ms": round(processWarm.p99),
    "docker.warm_ratio_vs_process_p50": round(dockerWarm.p50 / processWarm.p50),
  };
}

async function engineUnavailable(docker: Dockerode): Promise<string | undefined> {
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_resolve, reject) =>
        setTimeout(() => reject(new Error("no answer within 3 s")), 3_000).unref(),
      ),
    ]);
    return undefined;
  } catch (error) {
    return `no Docker Engine answered (${(error as Error).message}); set DOCKER_HOST or start dockerd`;
  }
}

async function sandboxImage(docker: Dockerode): Promise<string> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), "warmstate-bench-image-"));
  try {
    return await ensureSandboxImage(docker, {
      nodeModulesDir: path.join(PACKAGE_ROOT, "node_modules"),
      workDir,
      logger: pino({ level: "silent" }),
    });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** `docker run --rm IMAGE /bin/sh -c :` through dockerode: ms until exit, and until removed. */
async function bareRun(
  docker: Dockerode,
  image: string,
): Promise<{ exited: number; removed: number }> {
  const started = performance.now();
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ["/bin/sh", "-c", ":"],
  });
  await container.start();
  await container.wait();
  const exited = performance.now() - started;
  await container.remove();
  return { exited, removed: performance.now() - started };
}

/** Memory size at which Lambda allocates one full vCPU. */
const ONE_VCPU_MB = 1_769;

/** Warm invokes of a no-op function on one backend, and `coldSamples` cold starts. */
async function measureBackend(
  backend: "docker" | "process",
  coldSamples: number,
): Promise<{ warm: number[]; cold: number[] }> {
  const bench = await startBenchSimulator({ backend });
  try {
    await bench.createNoop("noop");
    const invoke = () => bench.invoke("noop");
    await invoke();
    await timeEach(100, invoke);
    const warm = await timeEach(WARM_SAMPLES, invoke);

    // Lambda gives CPU in proportion to memory (1,769 MB is one vCPU), so a
    // 128 MB container gets 7% of a core and Node.js starts about ten times
    // slower, while the `docker run --rm` baseline has no CPU limit. Cold
    // starts are compared at one full vCPU.
    // https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
    const cold: number[] = [];
    for (let i = 0; i < coldSamples; i++) {
      const name = `noop-cold-${i}`;
      await bench.createNoop(name, ONE_VCPU_MB);
      const started = performance.now();
      await bench.invoke(name);
      cold.push(performance.now() - started);
    }
    return { warm, cold };
  } finally {
    await bench.close();
  }
}
