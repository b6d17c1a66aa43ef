#!/usr/bin/env node
// Entry point of the `warmstate` command: loads the TypeScript sources
// through tsx, so the package runs without a build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../simulator/cli.ts");
process.exitCode = await main(process.argv.slice(2));
