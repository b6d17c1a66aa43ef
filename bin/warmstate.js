#!/usr/bin/env node
// Entry point of the `warmstate` command: loads the TypeScript sources
// through tsx, so the package runs without a build step.
import { register } from "tsx/esm/api";

register();
// On Node.js 20 the AWS SDK clients that the commands use warn that releases
// after January 2027 need Node.js 22. The warning is not about the
// simulator, so the command turns it off unless the user set the variable.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// `warmstate logs fn | head` closes the pipe early: that ends the output, not the program with an error.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});
const { main } = await import("../simulator/cli.ts");
process.exitCode = await main(process.argv.slice(2));
