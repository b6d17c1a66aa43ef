import type { BackendName } from "../sandbox/backend.ts";

/** Parses a TCP port option, rejecting anything outside 0–65535. */
export function parsePort(value: string, option = "--port"): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`Invalid ${option} "${value}": expected an integer from 0 to 65535.`);
  }
  return port;
}

/** Parses `--backend`. */
export function parseBackendName(value: string): BackendName {
  if (value === "process" || value === "docker") return value;
  throw new UsageError(`Invalid --backend "${value}": expected "process" or "docker".`);
}

/** A mistake in the command line; the CLI prints the message and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
