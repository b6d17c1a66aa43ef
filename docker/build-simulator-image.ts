/**
 * Builds the image of the simulator itself, which docker/compose.yaml runs,
 * from local files and with no registry: `npm run docker:simulator-image`,
 * or `node --import tsx docker/build-simulator-image.ts`. Tags it
 * `warmstate/simulator:local` and prints that tag.
 *
 * Like the sandbox image, it is `FROM scratch` and gets the host's Node.js
 * binary and shared libraries. It adds what the docker backend runs inside
 * the simulator's container: mkfs.ext4, mount, umount and losetup for the
 * loop-mounted /tmp images. It also adds ldd and bash (ldd is a bash
 * script), because the simulator builds the sandbox image on first use.
 * The repository, node_modules included, is not in the image: compose
 * bind-mounts it.
 */
import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { access, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Dockerode from "dockerode";
import { createLogger } from "../simulator/logger.ts";
import {
  listSharedLibraries,
  resolveImageContent,
  rootfsFileEntries,
} from "../simulator/sandbox/docker-image.ts";
import { type TarEntry, writeTar } from "../simulator/sandbox/docker-image-tar.ts";

/** Tag that docker/compose.yaml runs. */
const SIMULATOR_IMAGE = "warmstate/simulator:local";

/** Image label with the hash of the image's content; an image with the same hash is not rebuilt. */
const CONTENT_LABEL = "warmstate.content-hash";

/** Path of Node.js in the image, on the image's PATH. */
const NODE_PATH_IN_IMAGE = "/usr/local/bin/node";

const IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Programs the simulator runs with the docker backend, looked up on the host's PATH.
// /bin/bash keeps its path because ldd's first line is `#!/bin/bash`.
const FIXED_PROGRAMS = ["/bin/bash"];
const PROGRAMS_ON_PATH = ["ldd", "mkfs.ext4", "mount", "umount", "losetup"];
const HOST_SEARCH_PATH = [
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/bin",
  "/sbin",
  "/bin",
];

// Optional configuration files, copied when the host has them. Without
// /etc/mke2fs.conf, mke2fs uses its built-in defaults.
const CONFIG_FILES = ["/etc/mke2fs.conf"];

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const logger = createLogger({ level: process.env.WARMSTATE_LOG_LEVEL ?? "info" });

/** Returns the first executable `name` on the host's search path. */
async function findProgram(name: string): Promise<string> {
  for (const dir of HOST_SEARCH_PATH) {
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this folder.
    }
  }
  throw new Error(
    `${name} is not installed on this host (searched ${HOST_SEARCH_PATH.join(":")}). ` +
      "Install it (Debian: e2fsprogs for mkfs.ext4, mount for mount and umount, util-linux for losetup, libc-bin for ldd).",
  );
}

/** Files of the image as [host path, path in the image] pairs, sorted by image path. */
async function collectFiles(): Promise<Array<[source: string, target: string]>> {
  const sandbox = await resolveImageContent({
    nodeModulesDir: path.join(repositoryRoot, "node_modules"),
  });
  const programs = [
    ...sandbox.programs,
    ...FIXED_PROGRAMS,
    ...(await Promise.all(PROGRAMS_ON_PATH.map(findProgram))),
  ];

  // The sandbox image's libraries stay in: ldd inside the container must
  // resolve them at the same paths, so the simulator computes the same
  // sandbox image tag there as on the host.
  const libraries = new Set(sandbox.libraries);
  for (const program of programs) {
    for (const library of await listSharedLibraries(program)) libraries.add(library);
  }

  const configFiles: string[] = [];
  for (const file of CONFIG_FILES) {
    try {
      await access(file, constants.R_OK);
      configFiles.push(file);
    } catch {
      logger.debug({ file }, "optional configuration file not on this host");
    }
  }

  const files: Array<[string, string]> = [
    [sandbox.nodeBinary, NODE_PATH_IN_IMAGE],
    ...[...new Set([...programs, ...libraries, ...configFiles])].map((file): [string, string] => [
      file,
      file,
    ]),
  ];
  return files.sort((a, b) => a[1].localeCompare(b[1]));
}

function renderDockerfile(): string {
  return [
    "FROM scratch",
    "COPY rootfs/ /",
    `ENV PATH=${IMAGE_PATH} WARMSTATE_LOG_LEVEL=info`,
    `CMD ["${NODE_PATH_IN_IMAGE}", "--version"]`,
    "",
  ].join("\n");
}

/** Build context: the Dockerfile, then rootfs/ with folders before the files in them. */
async function contextEntries(files: Array<[string, string]>): Promise<TarEntry[]> {
  const folders = new Set<string>(["etc", "run", "root"]);
  for (const [, target] of files) {
    const parts = path.posix.dirname(target).slice(1).split("/");
    for (let depth = 1; depth <= parts.length; depth++)
      folders.add(parts.slice(0, depth).join("/"));
  }

  const entries: TarEntry[] = [
    { type: "content", name: "Dockerfile", mode: 0o644, content: Buffer.from(renderDockerfile()) },
    { type: "directory", name: "rootfs", mode: 0o755 },
    ...[...folders]
      .sort()
      .map((folder): TarEntry => ({ type: "directory", name: `rootfs/${folder}`, mode: 0o755 })),
    // tsx keeps its compile cache in the OS temp folder.
    { type: "directory", name: "rootfs/tmp", mode: 0o1777 },
    {
      type: "content",
      name: "rootfs/etc/passwd",
      mode: 0o644,
      content: Buffer.from("root:x:0:0:root:/root:/bin/sh\n"),
    },
    { type: "content", name: "rootfs/etc/group", mode: 0o644, content: Buffer.from("root:x:0:\n") },
  ];
  entries.push(...(await rootfsFileEntries(files)));
  return entries;
}

async function hashContent(files: Array<[string, string]>): Promise<string> {
  const hash = createHash("sha256");
  hash.update(renderDockerfile());
  for (const [source, target] of files) {
    hash.update(`${target}\n`);
    for await (const chunk of createReadStream(source)) hash.update(chunk as Buffer);
  }
  return hash.digest("hex").slice(0, 16);
}

/** Returns the content hash label of the engine's `tag`, or undefined when it has no such image. */
async function existingHash(docker: Dockerode, tag: string): Promise<string | undefined> {
  try {
    const info = await docker.getImage(tag).inspect();
    return info.Config?.Labels?.[CONTENT_LABEL] ?? "";
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

// The engine reports build errors inside the stream, not as a failed request.
function followBuild(docker: Dockerode, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: Array<{ error?: string }>) => {
        const failed = error?.message ?? events.find((event) => event.error)?.error;
        if (failed) reject(new Error(`Building ${SIMULATOR_IMAGE} failed: ${failed}`));
        else resolve();
      },
      (event: { stream?: string }) => {
        if (event.stream?.trim()) logger.debug({ line: event.stream.trim() }, "image build output");
      },
    );
  });
}

async function buildSimulatorImage(docker: Dockerode): Promise<void> {
  const files = await collectFiles();
  const contentHash = await hashContent(files);
  const previous = await existingHash(docker, SIMULATOR_IMAGE);
  if (previous === contentHash) {
    logger.info({ image: SIMULATOR_IMAGE, contentHash }, "simulator image is up to date");
    return;
  }
  const previousId =
    previous === undefined ? undefined : (await docker.getImage(SIMULATOR_IMAGE).inspect()).Id;

  logger.info(
    { image: SIMULATOR_IMAGE, files: files.length },
    "building the simulator image from local files",
  );
  const workDir = path.join(repositoryRoot, ".warmstate", "docker");
  await mkdir(workDir, { recursive: true });
  const archive = path.join(workDir, `simulator-context-${process.pid}.tar`);
  try {
    await writeTar(archive, await contextEntries(files));
    const stream = await docker.buildImage(createReadStream(archive), {
      t: SIMULATOR_IMAGE,
      rm: true,
      forcerm: true,
      labels: { "warmstate.image": "simulator", [CONTENT_LABEL]: contentHash },
    });
    await followBuild(docker, stream);
  } finally {
    await rm(archive, { force: true });
  }

  // The retagged old image is dead weight; removal fails, and is skipped, while a container uses it.
  if (previousId) {
    await docker
      .getImage(previousId)
      .remove()
      .catch((error: unknown) => logger.debug({ err: error }, "previous simulator image kept"));
  }
  logger.info({ image: SIMULATOR_IMAGE, contentHash }, "simulator image built");
}

try {
  await buildSimulatorImage(new Dockerode());
  process.stdout.write(`${SIMULATOR_IMAGE}\n`);
} catch (error) {
  logger.error({ err: error }, "building the simulator image failed");
  process.exitCode = 1;
}
