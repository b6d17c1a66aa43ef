import { parseArgs } from "node:util";
import {
  type DeployedPipeline,
  deployPipeline,
  deploySettingsFor,
  PIPELINE_BUCKET,
  pipelineInput,
} from "../replay/deploy.ts";
import { loadScenario, ScenarioError } from "../replay/scenario-loader.ts";
import { PIPELINE_FUNCTIONS, PIPELINE_STATE_MACHINES } from "../replay/scenario-schema.ts";
import { UsageError } from "./options.ts";

/** Key of the document in the printed examples. */
const EXAMPLE_KEY = "in/example.pdf";

// The lists come from the same constants deployPipeline deploys, so the help cannot drift from the code.
const HELP = `Usage: warmstate deploy [--endpoint URL] [--scenario NAME|FILE]

Deploys the PDF pipeline into a running simulator, or updates it:
  functions       ${PIPELINE_FUNCTIONS.join(", ")} (from functions/, hot-reloaded on change)
  state machines  ${PIPELINE_STATE_MACHINES.join(", ")} (from pipelines/)
  bucket          ${PIPELINE_BUCKET}

Every state machine takes the same StartExecution input: the bucket and the keys
of PDFs uploaded to it, for example
  ${JSON.stringify(pipelineInput(PIPELINE_BUCKET, [EXAMPLE_KEY, "in/second.pdf"]))}
After deploying, the command prints an AWS CLI example for each state machine.

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

  let deployed: DeployedPipeline;
  try {
    deployed = await deployPipeline({
      endpoint: values.endpoint,
      settings: deploySettingsFor(scenario),
    });
  } catch (error) {
    console.error(
      `Deploying to ${values.endpoint} failed: ${(error as Error).name}: ${(error as Error).message}. Is \`warmstate serve\` running there?`,
    );
    return 1;
  }

  console.log(`Deployed to ${values.endpoint}:`);
  console.log(`  functions:      ${deployed.functions.join(", ")}`);
  const nameWidth = Math.max(...Object.keys(deployed.stateMachineArns).map((name) => name.length));
  for (const [name, arn] of Object.entries(deployed.stateMachineArns))
    console.log(`  state machine:  ${name.padEnd(nameWidth)}  ${arn}`);
  console.log(`  bucket:         ${deployed.bucket}`);
  console.log(`\n${startExamples(values.endpoint, deployed)}`);
  return 0;
}

/** Formats AWS CLI commands that upload a PDF and start one execution of each state machine. */
function startExamples(endpoint: string, deployed: DeployedPipeline): string {
  const aws = `aws --endpoint-url ${endpoint}`;
  const input = JSON.stringify(pipelineInput(deployed.bucket, [EXAMPLE_KEY]));
  const lines = [
    "Upload PDFs to the bucket, then start an execution with their keys. With the AWS CLI:",
    `  ${aws} s3 cp example.pdf s3://${deployed.bucket}/${EXAMPLE_KEY}`,
  ];
  for (const arn of Object.values(deployed.stateMachineArns))
    lines.push(
      `  ${aws} stepfunctions start-execution --state-machine-arn ${arn} --input '${input}'`,
    );
  return lines.join("\n");
}
