import { parseArgs } from "node:util";
import { deployPipeline, deploySettingsFor } from "../replay/deploy.ts";
import { loadScenario, ScenarioError } from "../replay/scenario-loader.ts";
import { UsageError } from "./options.ts";

const HELP = `Usage: warmstate deploy [--endpoint URL] [--scenario NAME|FILE]

Deploys the PDF pipeline into a running simulator: pdf-split, pdf-analyze and
pdf-summarize from this repository's functions/ folders (hot-reloaded on change),
the pdf-batch and pdf-batch-inline state machines, and the pipeline bucket.

  --endpoint URL         the simulator (default http://127.0.0.1:4700)
  --scenario NAME|FILE   take function settings and bug toggles from a scenario
                         (default: production settings, bugs on)`;

/** `warmstate deploy`: deploys the PDF pipeline through the AWS APIs. */
export async function deployCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      endpoint: { type: "string", default: "http://127.0.0.1:4700" },
      scenario: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }

  let scenario: ReturnType<typeof loadScenario>["scenario"] | undefined;
  try {
    scenario = values.scenario ? loadScenario(values.scenario).scenario : undefined;
  } catch (error) {
    if (error instanceof ScenarioError) throw new UsageError(error.message);
    throw error;
  }
  try {
    const deployed = await deployPipeline({
      endpoint: values.endpoint,
      settings: deploySettingsFor(scenario),
    });
    console.log(`Deployed to ${values.endpoint}:`);
    console.log(`  functions:      ${deployed.functions.join(", ")}`);
    for (const [name, arn] of Object.entries(deployed.stateMachineArns))
      console.log(`  state machine:  ${name}  ${arn}`);
    console.log(`  bucket:         ${deployed.bucket}`);
    return 0;
  } catch (error) {
    console.error(
      `Deploying to ${values.endpoint} failed: ${(error as Error).name}: ${(error as Error).message}. Is \`warmstate serve\` running there?`,
    );
    return 1;
  }
}
