/**
 * The sandbox image of the docker backend, built without a registry: a
 * `FROM scratch` image that contains the host's Node.js binary, the shared
 * libraries it and sharp's prebuilt libvips need, a shell and `env` for
 * `#!/usr/bin/env node` bootstraps, and the folders of Lambda's layout.
 * The tag carries a hash of that content, so a changed Node.js binary or
 * library builds a new image.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type Dockerode from "dockerode";
import type { Logger } from "../logger.ts";
import { type TarEntry, writeTar } from "./docker-image-tar.ts";

const execFileAsync = promisify(execFile);

/** Repository part of the image tag; the tag itself is the content hash. */
export const SANDBOX_IMAGE_REPOSITORY = "warmstate/lambda-nodejs";

/** Path of Node.js in the image, as in Lambda's Node.js runtimes. */
export const IMAGE_NODE_PATH = "/var/lang/bin/node";

/**
 * The sandbox user. Lambda runs functions as `sbx_user1051`.
 * NOTE: AWS does not document its uid and gid; 993 and 990 are the values
 * commonly reported from inside Lambda, and nothing here depends on them.
 */
export const SANDBOX_USER = { name: "sbx_user1051", uid: 993, gid: 990 } as const;

/** PATH of Lambda's Node.js runtimes, with the folders this image has. */
export const IMAGE_PATH = "/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin";

// Bump when the layout below changes without any input file changing.
const LAYOUT_VERSION = "2";

/** Files of the image, resolved on this host. */
export interface ImageContent {
  /** Host path of the Node.js binary. */
  nodeBinary: string;
  /** Host paths of other programs to copy at the same path (shell, env). */
  programs: string[];
  /** Host paths of shared libraries, copied at the same path. */
  libraries: string[];
  /** Image tag, `warmstate/lambda-nodejs:<hash>`. */
  tag: string;
}

/** Options of {@link resolveImageContent}. */
export interface ImageContentOptions {
  /** Repository node_modules; native add-ons found there add their libraries. */
  nodeModulesDir: string;
  /** Node.js binary to copy; the running one by default. */
  nodeBinary?: string;
}

/**
 * Collects the files of the image from this host and computes its tag.
 * Only Linux hosts can supply a Linux Node.js binary and its glibc.
 */
export async function resolveImageContent(options: ImageContentOptions): Promise<ImageContent> {
  if (process.platform !== "linux") {
    throw new Error(
      `Building the sandbox image from local files needs a Linux host, not ${process.platform}. ` +
        "Set the docker backend's image option to a Lambda Node.js base image instead (see docker/README.md).",
    );
  }

  const nodeBinary = options.nodeBinary ?? process.execPath;
  const programs = ["/bin/sh", "/usr/bin/env"];
  const addons = await findNativeAddons(options.nodeModulesDir);
  const libraries = new Set<string>();
  for (const file of [nodeBinary, ...programs, ...addons]) {
    for (const library of await listSharedLibraries(file)) {
      // Libraries inside node_modules are mounted with it and found through RPATH.
      if (!library.startsWith(path.resolve(options.nodeModulesDir))) libraries.add(library);
    }
  }
  const sortedLibraries = [...libraries].sort();

  const hash = createHash("sha256");
  hash.update(
    `layout ${LAYOUT_VERSION}\n${renderDockerfile()}\n${renderPasswd()}\n${renderGroup()}\n`,
  );
  // Hash each file under its path in the image, so the same binary elsewhere on the host gives the same tag.
  const files: Array<[source: string, target: string]> = [
    [nodeBinary, IMAGE_NODE_PATH],
    ...[...programs, ...sortedLibraries].map((file): [string, string] => [file, file]),
  ];
  for (const [source, target] of files) {
    hash.update(`${target}\n`);
    hash.update(await hashFile(source));
  }
  const tag = `${SANDBOX_IMAGE_REPOSITORY}:${hash.digest("hex").slice(0, 16)}`;

  return { nodeBinary, programs, libraries: sortedLibraries, tag };
}

/** Returns true when the engine already has the image `tag`. */
export async function imageExists(docker: Dockerode, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/**
 * Builds the sandbox image from `content` through a context archive under
 * `workDir`, then deletes the archive. Resolves with the tag once the
 * engine reports success; rejects with the builder's message otherwise.
 */
export async function buildSandboxImage(
  docker: Dockerode,
  content: ImageContent,
  workDir: string,
  logger: Logger,
): Promise<string> {
  await mkdir(workDir, { recursive: true });
  const archive = path.join(workDir, `image-context-${process.pid}-${Date.now()}.tar`);
  try {
    await writeTar(archive, await contextEntries(content));
    const stream = await docker.buildImage(createReadStream(archive), {
      t: content.tag,
      rm: true,
      forcerm: true,
      labels: { "warmstate.image": "sandbox" },
    });
    await followBuild(docker, stream, content.tag, logger);
    return content.tag;
  } finally {
    await rm(archive, { force: true });
  }
}

/**
 * Returns the tag of the sandbox image for this host, building it first
 * when the engine does not have it.
 */
export async function ensureSandboxImage(
  docker: Dockerode,
  options: ImageContentOptions & { workDir: string; logger: Logger },
): Promise<string> {
  const content = await resolveImageContent(options);
  if (await imageExists(docker, content.tag)) return content.tag;

  options.logger.info(
    { image: content.tag, libraries: content.libraries.length },
    "building the docker sandbox image from local files",
  );
  const started = Date.now();
  await buildSandboxImage(docker, content, options.workDir, options.logger);
  options.logger.info(
    { image: content.tag, durationMs: Date.now() - started },
    "docker sandbox image built",
  );
  await removeOlderImages(docker, content.tag, options.logger);
  return content.tag;
}

// Earlier builds (another Node.js binary or library) are dead weight; an image that a
// container still uses stays, because removal without force fails for it.
async function removeOlderImages(docker: Dockerode, keep: string, logger: Logger): Promise<void> {
  const images = await docker.listImages({ filters: { reference: [SANDBOX_IMAGE_REPOSITORY] } });
  for (const image of images) {
    for (const tag of image.RepoTags ?? []) {
      if (tag === keep || !tag.startsWith(`${SANDBOX_IMAGE_REPOSITORY}:`)) continue;
      await docker
        .getImage(tag)
        .remove()
        .then(
          () => logger.info({ image: tag }, "older docker sandbox image removed"),
          (error: unknown) =>
            logger.debug({ image: tag, err: error }, "older docker sandbox image kept"),
        );
    }
  }
}

async function contextEntries(content: ImageContent): Promise<TarEntry[]> {
  const entries: TarEntry[] = [
    { type: "content", name: "Dockerfile", mode: 0o644, content: Buffer.from(renderDockerfile()) },
    {
      type: "content",
      name: "rootfs/etc/passwd",
      mode: 0o644,
      content: Buffer.from(renderPasswd()),
    },
    { type: "content", name: "rootfs/etc/group", mode: 0o644, content: Buffer.from(renderGroup()) },
  ];
  const folders = new Set(["var/task", "var/runtime", "opt/nodejs", "usr/local/bin"]);
  const files: Array<[source: string, target: string]> = [
    [content.nodeBinary, IMAGE_NODE_PATH],
    ...content.programs.map((program): [string, string] => [program, program]),
    ...content.libraries.map((library): [string, string] => [library, library]),
  ];
  for (const [, target] of files) folders.add(path.posix.dirname(target).slice(1));

  // Parents first, each once; /tmp is world-writable with the sticky bit, as on Linux.
  const allFolders = new Set<string>(["etc"]);
  for (const folder of folders) {
    const parts = folder.split("/");
    for (let depth = 1; depth <= parts.length; depth++)
      allFolders.add(parts.slice(0, depth).join("/"));
  }
  const directories: TarEntry[] = [...allFolders].sort().map((folder) => ({
    type: "directory",
    name: `rootfs/${folder}`,
    mode: 0o755,
  }));
  directories.push({ type: "directory", name: "rootfs/tmp", mode: 0o1777 });

  entries.push(...(await rootfsFileEntries(files)));
  return [{ type: "directory", name: "rootfs", mode: 0o755 }, ...directories, ...entries];
}

function renderPasswd(): string {
  const { name, uid, gid } = SANDBOX_USER;
  return `root:x:0:0:root:/root:/bin/sh\n${name}:x:${uid}:${gid}::/tmp:/sbin/nologin\n`;
}

function renderGroup(): string {
  return `root:x:0:\n${SANDBOX_USER.name}:x:${SANDBOX_USER.gid}:\n`;
}

function renderDockerfile(): string {
  return [
    "FROM scratch",
    "COPY rootfs/ /",
    `ENV PATH=${IMAGE_PATH} LANG=en_US.UTF-8 TZ=:UTC LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime`,
    "WORKDIR /var/task",
    `USER ${SANDBOX_USER.uid}:${SANDBOX_USER.gid}`,
    `CMD ["${IMAGE_NODE_PATH}", "--version"]`,
    "",
  ].join("\n");
}

// Native add-ons and their libraries under node_modules/@img (sharp's prebuilt binaries).
async function findNativeAddons(nodeModulesDir: string): Promise<string[]> {
  const found: string[] = [];
  const imgDir = path.join(nodeModulesDir, "@img");
  let packages: string[];
  try {
    packages = await readdir(imgDir);
  } catch {
    return found;
  }
  for (const name of packages) {
    const libDir = path.join(imgDir, name, "lib");
    let files: string[];
    try {
      files = await readdir(libDir);
    } catch {
      continue;
    }
    for (const file of files) {
      if (file.endsWith(".node") || /\.so(\.\d+)*$/.test(file)) found.push(path.join(libDir, file));
    }
  }
  return found;
}

/** Lists the absolute paths `ldd` resolves for `file`, the dynamic loader included. */
export async function listSharedLibraries(file: string): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync("ldd", [file]));
  } catch (error) {
    // ldd exits non-zero for static binaries; those need no libraries.
    const output = `${(error as { stdout?: string }).stdout ?? ""}${(error as { stderr?: string }).stderr ?? ""}`;
    if (/not a dynamic executable|statically linked/.test(output)) return [];
    throw new Error(
      `Listing the shared libraries of ${file} with ldd failed: ${output || String(error)}`,
      {
        cause: error,
      },
    );
  }

  const libraries: string[] = [];
  for (const line of stdout.split("\n")) {
    const resolved = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (resolved) libraries.push(resolved[1]);
    if (/=>\s+not found/.test(line)) {
      throw new Error(`${file} needs a library that is not installed on this host: ${line.trim()}`);
    }
  }
  return libraries;
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("error", reject)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")));
  });
}

// Waits for the end of a build stream; the engine reports build errors inside the stream.
function followBuild(
  docker: Dockerode,
  stream: NodeJS.ReadableStream,
  tag: string,
  logger: Logger,
): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (
        error: Error | null,
        events: Array<{ error?: string; errorDetail?: { message?: string } }>,
      ) => {
        const failed = error?.message ?? events.find((event) => event.error)?.error;
        if (failed) {
          reject(new Error(`Building the docker sandbox image ${tag} failed: ${failed}`));
          return;
        }
        resolve();
      },
      (event: { stream?: string }) => {
        if (event.stream?.trim())
          logger.debug({ image: tag, line: event.stream.trim() }, "image build output");
      },
    );
  });
}

/**
 * Tar entries that copy host files into a build context's rootfs/, each
 * under its target path. stat follows symlinks, so the image gets a file's
 * content under the name the host uses for it.
 */
export async function rootfsFileEntries(
  files: Array<[source: string, target: string]>,
): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  for (const [source, target] of files) {
    const info = await stat(source);
    entries.push({
      type: "file",
      name: `rootfs${target}`,
      mode: info.mode & 0o7777,
      source,
      size: info.size,
    });
  }
  return entries;
}
