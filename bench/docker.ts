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

const WARM_ROUNDS = 5;
const WARM_BATCH = 100;
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

  const cold = summarize(await dockerColdStarts(COLD_SAMPLES));
  const exited = summarize(bareExited);
  const removed = summarize(bareRemoved);
  const warm = await warmInvokes();
  const ratio = (memory: number) =>
    round(summarize(warm.docker[memory]).p50 / summarize(warm.process[memory]).p50);

  return {
    "docker.cold_start_samples": COLD_SAMPLES,
    "docker.cold_start_p50_ms": round(cold.p50),
    "docker.run_noop_until_exit_p50_ms": round(exited.p50),
    "docker.run_noop_with_removal_p50_ms": round(removed.p50),
    "docker.cold_start_ratio_p50": round(cold.p50 / exited.p50),
    "docker.cold_start_ratio_with_removal_p50": round(cold.p50 / removed.p50),
    "docker.warm_samples": WARM_ROUNDS * WARM_BATCH,
    "docker.warm_invoke_p50_ms": round(summarize(warm.docker[ONE_VCPU_MB]).p50),
    "docker.warm_invoke_p99_ms": round(summarize(warm.docker[ONE_VCPU_MB]).p99),
    "docker.process_warm_invoke_p50_ms": round(summarize(warm.process[ONE_VCPU_MB]).p50),
    "docker.process_warm_invoke_p99_ms": round(summarize(warm.process[ONE_VCPU_MB]).p99),
    "docker.warm_ratio_vs_process_p50": ratio(ONE_VCPU_MB),
    "docker.warm_invoke_128mb_p50_ms": round(summarize(warm.docker[128]).p50),
    "docker.warm_invoke_128mb_p99_ms": round(summarize(warm.docker[128]).p99),
    "docker.process_warm_invoke_128mb_p50_ms": round(summarize(warm.process[128]).p50),
    "docker.warm_ratio_vs_process_128mb_p50": ratio(128),
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

// Lambda gives CPU in proportion to memory (1,769 MB is one vCPU). The
// docker backend applies that share as a CPU quota, and the process backend
// applies none. At 128 MB the container gets 7% of a core, so Node.js starts
// about ten times slower, and a warm invoke now and then waits up to 90 ms
// for the next quota period. That comes from the quota, not from the
// backend's overhead, so the targets compare at one full vCPU and the
// 128 MB ratio is reported beside them.
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
const WARM_MEMORY_SIZES = [ONE_VCPU_MB, 128] as const;

/** Cold starts of a no-op function on the docker backend at one vCPU, each on a new function. */
async function dockerColdStarts(samples: number): Promise<number[]> {
  const bench = await startBenchSimulator({ backend: "docker" });
  try {
    const cold: number[] = [];
    for (let i = 0; i < samples; i++) {
      const name = `noop-cold-${i}`;
      await bench.createNoop(name, ONE_VCPU_MB);
      const started = performance.now();
      await bench.invoke(name);
      cold.push(performance.now() - started);
    }
    return cold;
  } finally {
    await bench.close();
  }
}

type WarmSamples = Record<"docker" | "process", Record<number, number[]>>;

/**
 * Warm invokes of a no-op function on both backends, in alternating batches
 * so that a change in the machine's load hits both sides alike.
 */
async function warmInvokes(): Promise<WarmSamples> {
  const sides = {
    docker: await startBenchSimulator({ backend: "docker" }),
    process: await startBenchSimulator({ backend: "process" }),
  };
  const samples: WarmSamples = { docker: {}, process: {} };
  try {
    for (const [name, bench] of Object.entries(sides) as [
      keyof WarmSamples,
      typeof sides.docker,
    ][]) {
      for (const memory of WARM_MEMORY_SIZES) {
        await bench.createNoop(`noop-${memory}`, memory);
        await timeEach(100, () => bench.invoke(`noop-${memory}`));
        samples[name][memory] = [];
      }
    }
    for (let round = 0; round < WARM_ROUNDS; round++) {
      for (const memory of WARM_MEMORY_SIZES) {
        for (const name of ["docker", "process"] as const) {
          const bench = sides[name];
          samples[name][memory].push(
            ...(await timeEach(WARM_BATCH, () => bench.invoke(`noop-${memory}`))),
          );
        }
      }
    }
    return samples;
  } finally {
    await Promise.all([sides.docker.close(), sides.process.close()]);
  }
}
