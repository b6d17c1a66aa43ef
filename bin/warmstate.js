#!/usr/bin/env node
// Entry point of the `warmstate` command: loads the TypeScript sources
// through tsx, so the package runs without a build step.
import { register } from "tsx/esm/api";

register();
// `warmstate logs fn | head` closes the pipe early: that ends the output, not the program with an error.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});
const { main } = await import("../simulator/cli.ts");
process.exitCode = await main(process.argv.slice(2));
