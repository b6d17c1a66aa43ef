/**
 * The docker sandbox backend: one container per execution environment,
 * created through dockerode from a locally built image (see
 * docker-image.ts), with Lambda's limits and layout.
 */
import { hostname } from "node:os";
import path from "node:path";
import Dockerode from "dockerode";
import type { Logger } from "../logger.ts";
import type { Sandbox, SandboxBackend, SandboxSpec } from "./backend.ts";
import {
  ensureSandboxImage,
  IMAGE_NODE_PATH,
  IMAGE_PATH,
  imageExists,
  SANDBOX_USER,
} from "./docker-image.ts";
import { LABELS, removeDockerOrphans } from "./docker-orphans.ts";
import { type DockerFreezeMethod, DockerSandbox, type DockerTmp } from "./docker-sandbox.ts";
import { createLoopTmp, probeLoopSupport, removeLoopTmp } from "./docker-tmp.ts";

export { LABELS };

/** Options of {@link DockerBackend}. */
export interface DockerBackendOptions {
  /** The simulator's data directory; /tmp images live under `<dataDir>/docker/environments`. */
  dataDir: string;
  logger: Logger;
  /** Host folder of the project's runtime client, mounted read-only at /var/runtime. */
  runtimeClientDir: string;
  /** Runtime client file inside `runtimeClientDir`, run by Node.js for `{ kind: "node" }`; default `index.mjs`. */
  runtimeClientEntry?: string;
  /** Repository node_modules, mounted read-only at /opt/nodejs/node_modules like a Lambda layer. */
  nodeModulesDir: string;
  /** Engine client; by default the one DOCKER_HOST names, or the local socket. */
  docker?: Dockerode;
  /** Image to run instead of the locally built one (for example public.ecr.aws/lambda/nodejs:20). */
  image?: string;
  /**
   * Run the image's own entry point with the handler as its argument, as
   * AWS's Lambda base images expect (/lambda-entrypoint.sh runs their
   * runtime interface client against AWS_LAMBDA_RUNTIME_API). The project's
   * runtime client is then not mounted.
   */
  useImageEntrypoint?: boolean;
  /**
   * `host` (Linux): the container shares the host's network, so it reaches
   * the Runtime API and the S3 endpoint on 127.0.0.1. `bridge` is for Docker
   * Desktop, where host networking does not reach the host: the container
   * reaches the host as host.docker.internal, and the simulator's servers
   * must listen on an address the engine's VM can reach.
   */
  network?: "host" | "bridge";
  /** How to stop a sandbox between invocations; see docker/README.md for the costs. Default `cgroup`. */
  freezeMethod?: DockerFreezeMethod;
  /** Give each container CPU in proportion to its memory, as Lambda does. Default true. */
  proportionalCpu?: boolean;
  /**
   * Backing of /tmp. `auto` (default) uses a loop-mounted ext4 image where
   * this host allows it, and a tmpfs otherwise. `tmpfs` forces the tmpfs,
   * whose pages count against the container's memory.
   */
  tmp?: "auto" | "tmpfs";
}

/** Lambda gives a function one vCPU at 1,769 MB, and CPU in proportion to memory.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html */
const MB_PER_VCPU = 1769;

/** The docker backend; see the module comment. */
export class DockerBackend implements SandboxBackend {
  readonly name = "docker" as const;

  #options: DockerBackendOptions;
  #docker: Dockerode;
  #logger: Logger;
  #sandboxes = new Set<DockerSandbox>();
  #prepared: Promise<{ image: string; loop: boolean }> | undefined;
  #warnedMajors = new Set<number>();

  constructor(options: DockerBackendOptions) {
    this.#options = options;
    this.#docker = options.docker ?? new Dockerode();
    this.#logger = options.logger.child({ backend: "docker" });
  }

  /** Folder with one sub-folder per environment's /tmp. */
  get environmentsDir(): string {
    return path.join(this.#options.dataDir, "docker", "environments");
  }

  async start(spec: SandboxSpec): Promise<Sandbox> {
    const { image, loop } = await this.#prepare();
    const folder = path.join(
      this.environmentsDir,
      `${process.pid}-${safeName(spec.environmentId)}`,
    );
    const tmp: DockerTmp = loop
      ? { kind: "loop", loop: await createLoopTmp(folder, spec.ephemeralStorageMb, SANDBOX_USER) }
      : { kind: "tmpfs" };

    let sandbox: DockerSandbox;
    try {
      sandbox = await DockerSandbox.start({
        docker: this.#docker,
        spec,
        logger: this.#logger,
        createOptions: this.#createOptions(spec, image, tmp, folder),
        tmp,
        freezeMethod: this.#options.freezeMethod ?? "cgroup",
        onRemoved: () => this.#sandboxes.delete(sandbox),
      });
    } catch (error) {
      if (tmp.kind === "loop") await removeLoopTmp(folder).catch(() => undefined);
      throw error;
    }

    this.#sandboxes.add(sandbox);
    this.#logger.debug(
      { environmentId: spec.environmentId, containerId: sandbox.containerId },
      "container started",
    );
    return sandbox;
  }

  async removeOrphans(): Promise<void> {
    await removeDockerOrphans(this.#docker, this.environmentsDir, this.#logger);
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.#sandboxes].map((sandbox) =>
        sandbox
          .stop(2_000)
          .catch((error: unknown) =>
            this.#logger.error(
              { err: error, environmentId: sandbox.environmentId },
              "stopping a container failed",
            ),
          ),
      ),
    );
  }

  // Once per backend: check the engine, pick /tmp's backing and make sure the image exists.
  #prepare(): Promise<{ image: string; loop: boolean }> {
    this.#prepared ??= (async () => {
      try {
        await this.#docker.ping();
      } catch (error) {
        throw new Error(
          "Connecting to the Docker Engine failed (DOCKER_HOST, or /var/run/docker.sock when unset). Start dockerd, or use the process backend.",
          { cause: error },
        );
      }

      const workDir = path.join(this.#options.dataDir, "docker");
      const probe =
        this.#options.tmp === "tmpfs"
          ? { ok: false as const, reason: "the tmp option asks for a tmpfs" }
          : await probeLoopSupport(workDir);
      if (this.#options.tmp === "tmpfs") {
        this.#logger.info("docker sandboxes get a tmpfs /tmp, which counts against their memory");
      } else if (!probe.ok) {
        this.#logger.warn(
          { reason: probe.reason },
          "loop devices unavailable: /tmp of docker sandboxes is a tmpfs and counts against their memory",
        );
      }

      if (this.#options.image) {
        // The simulator pulls nothing: a registry may be unreachable, and a pull can take minutes.
        if (!(await imageExists(this.#docker, this.#options.image))) {
          throw new Error(
            `Docker image ${this.#options.image} is not on the engine. Pull it first (docker pull ${this.#options.image}), or drop the image option to use the locally built one.`,
          );
        }
        return { image: this.#options.image, loop: probe.ok };
      }
      const image = await ensureSandboxImage(this.#docker, {
        nodeModulesDir: this.#options.nodeModulesDir,
        workDir,
        logger: this.#logger,
      });
      return { image, loop: probe.ok };
    })();
    this.#prepared.catch(() => {
      this.#prepared = undefined;
    });
    return this.#prepared;
  }

  #createOptions(
    spec: SandboxSpec,
    image: string,
    tmp: DockerTmp,
    folder: string,
  ): Dockerode.ContainerCreateOptions {
    const bridge = this.#options.network === "bridge";
    const useImageEntrypoint = this.#options.useImageEntrypoint === true;
    const runtimeApiHost = bridge ? "host.docker.internal" : spec.runtimeApi.host;

    const env: Record<string, string> = {
      LANG: "en_US.UTF-8",
      TZ: ":UTC",
      ...spec.env,
      // Paths inside the container win over whatever the spec computed for the host.
      // PARITY: a function's own PATH, NODE_PATH or LD_LIBRARY_PATH is replaced too, because
      // the spec cannot tell them from the host values the simulator passes to every backend.
      PATH: IMAGE_PATH,
      LD_LIBRARY_PATH:
        "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
      NODE_PATH:
        "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task",
      LAMBDA_TASK_ROOT: "/var/task",
      LAMBDA_RUNTIME_DIR: "/var/runtime",
      AWS_LAMBDA_RUNTIME_API: `${runtimeApiHost}:${spec.runtimeApi.port}`,
    };

    // Mounts, not Binds: the engine rejects a missing source folder instead of creating an
    // empty one, so a wrong code path fails the start.
    const bind = (source: string, target: string, readOnly = true): MountSettings => ({
      Type: "bind",
      Source: path.resolve(source),
      Target: target,
      ReadOnly: readOnly,
    });
    const mounts = [
      bind(spec.codeDir, "/var/task"),
      bind(this.#options.nodeModulesDir, "/opt/nodejs/node_modules"),
      // PARITY: ES modules ignore NODE_PATH, so the layer also appears at /node_modules, where
      // Node.js's upward search from /var/task ends. Lambda resolves layer packages for ES modules
      // its own way; /node_modules does not exist there.
      bind(this.#options.nodeModulesDir, "/node_modules"),
    ];
    if (!useImageEntrypoint) mounts.push(bind(this.#options.runtimeClientDir, "/var/runtime"));
    if (tmp.kind === "loop") mounts.push(bind(tmp.loop.mountPoint, "/tmp", false));

    const memoryBytes = spec.memoryMb * 1024 * 1024;
    return {
      name: `warmstate-${process.pid}-${safeName(spec.environmentId)}`,
      Image: image,
      ...this.#command(spec, useImageEntrypoint),
      User: `${SANDBOX_USER.uid}:${SANDBOX_USER.gid}`,
      WorkingDir: "/var/task",
      Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
      Labels: {
        [LABELS.simulatorPid]: String(process.pid),
        [LABELS.simulatorHost]: hostname(),
        [LABELS.environmentId]: spec.environmentId,
        [LABELS.functionName]: spec.functionName,
        [LABELS.tmpFolder]: tmp.kind === "loop" ? folder : "",
      },
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      HostConfig: {
        ReadonlyRootfs: true,
        Mounts: mounts,
        Tmpfs:
          tmp.kind === "tmpfs"
            ? { "/tmp": `rw,nosuid,nodev,size=${spec.ephemeralStorageMb}m,mode=1777` }
            : undefined,
        NetworkMode: bridge ? "bridge" : "host",
        ExtraHosts: bridge ? ["host.docker.internal:host-gateway"] : undefined,
        Memory: memoryBytes,
        // Equal to Memory: no swap, as on Lambda.
        MemorySwap: memoryBytes,
        NanoCpus:
          this.#options.proportionalCpu === false
            ? undefined
            : Math.round((spec.memoryMb / MB_PER_VCPU) * 1e9),
        Ulimits: [
          { Name: "nofile", Soft: spec.nofile, Hard: spec.nofile },
          // NOTE: RLIMIT_NPROC counts every process of the sandbox user on the host, across
          // containers; PidsLimit is the per-environment cap that matches Lambda's.
          { Name: "nproc", Soft: spec.nproc, Hard: spec.nproc },
        ],
        PidsLimit: spec.nproc,
        // docker's init forwards SIGTERM to the runtime and reaps zombies; a runtime as PID 1
        // would ignore SIGTERM.
        Init: true,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        RestartPolicy: { Name: "no" },
        AutoRemove: false,
      },
    };
  }

  #command(
    spec: SandboxSpec,
    useImageEntrypoint: boolean,
  ): Pick<Dockerode.ContainerCreateOptions, "Entrypoint" | "Cmd"> {
    if (useImageEntrypoint) {
      // AWS's base images take the handler as the argument of /lambda-entrypoint.sh.
      return { Cmd: [spec.env._HANDLER ?? ""] };
    }
    if (spec.entry.kind === "bootstrap") return { Entrypoint: ["/var/task/bootstrap"], Cmd: [] };
    const imageMajor = Number(process.versions.node.split(".")[0]);
    if (
      !this.#options.image &&
      spec.entry.nodeMajor !== imageMajor &&
      !this.#warnedMajors.has(spec.entry.nodeMajor)
    ) {
      this.#warnedMajors.add(spec.entry.nodeMajor);
      this.#logger.warn(
        { functionName: spec.functionName, requestedMajor: spec.entry.nodeMajor, imageMajor },
        "the sandbox image has another Node.js major than the function's runtime",
      );
    }
    const entry = this.#options.runtimeClientEntry ?? "index.mjs";
    return { Entrypoint: [IMAGE_NODE_PATH, `/var/runtime/${entry}`], Cmd: [] };
  }
}

type MountSettings = NonNullable<
  NonNullable<Dockerode.ContainerCreateOptions["HostConfig"]>["Mounts"]
>[number];

function safeName(value: string): string {
  return value.replace(/[^a-zA-Z0-9_.-]/g, "_");
}
