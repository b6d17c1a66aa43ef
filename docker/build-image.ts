/**
 * Builds the docker backend's sandbox image from local files, with no
 * registry: `npm run docker:image`, or `node --import tsx docker/build-image.ts`.
 * Prints the image tag. Talks to the engine that DOCKER_HOST names, or the
 * local socket.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import Dockerode from "dockerode";
import { createLogger } from "../simulator/logger.ts";
import { ensureSandboxImage } from "../simulator/sandbox/docker-image.ts";

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const logger = createLogger({ level: process.env.WARMSTATE_LOG_LEVEL ?? "info" });

try {
  const tag = await ensureSandboxImage(new Dockerode(), {
    nodeModulesDir: path.join(repositoryRoot, "node_modules"),
    workDir: path.join(repositoryRoot, ".warmstate", "docker"),
    logger,
  });
  process.stdout.write(`${tag}\n`);
} catch (error) {
  logger.error({ err: error }, "building the docker sandbox image failed");
  process.exitCode = 1;
}
