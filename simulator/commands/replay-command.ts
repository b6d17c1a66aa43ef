import path from "node:path";
import { parseArgs } from "node:util";
import {
  CORPUS_DIR_VARIABLE,
  CorpusError,
  checkCorpus,
  DEFAULT_CORPUS_DIR,
  locateCorpus,
} from "../replay/corpus-location.ts";
import { ProgressLine } from "../replay/progress-line.ts";
import { runReplay } from "../replay/replay-run.ts";
import { loadScenario, ScenarioError, shippedScenarioNames } from "../replay/scenario-loader.ts";
import { renderTerminalSummary } from "../report/terminal-summary.ts";
import { parseBackendName, parsePort, UsageError } from "./options.ts";

const HELP = `Usage: warmstate replay [--scenario NAME|FILE] [--backend process|docker] [--speed N|max]
                        [--seed N] [--corpus DIR] [--out DIR] [--port N] [--endpoint URL]
                        [--keep-data]

Replays a production-like load of the PDF pipeline and reports where, when and why
execution environments fail. \`npm run sim\` runs it with the defaults.

  --scenario NAME|FILE  shipped scenario name or a YAML file (default seed-workday)
  --backend NAME        sandbox backend: process or docker (default process)
  --speed N|max         simulated seconds per real second, or max to jump over idle gaps (default max)
  --seed N              seed of arrivals and documents (default: the scenario's seed)
  --corpus DIR          folder of real PDFs mixed into the load (default: $${CORPUS_DIR_VARIABLE},
                        else ${DEFAULT_CORPUS_DIR}). Without a corpus
                        the replay sends generated documents only, and warns at start
  --out DIR             run folder for report.json, report.html and simulator.log
                        (default .warmstate/runs/<timestamp>)
  --port N              edge port of the simulator the replay starts (default: a free port)
  --endpoint URL        replay against a running simulator instead (real time, no probes in the report)
  --keep-data           keep the simulator's objects and functions under <out>/data`;

/** Real milliseconds the process may take to exit by itself once the report is written. */
const EXIT_GRACE_MS = 5_000;

/** `warmstate replay` (and `npm run sim`): replays a scenario and writes its report. */
export async function replayCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: "string", default: "seed-workday" },
      backend: { type: "string", default: "process" },
      speed: { type: "string", default: "max" },
      seed: { type: "string" },
      corpus: { type: "string" },
      out: { type: "string" },
      port: { type: "string" },
      endpoint: { type: "string" },
      "keep-data": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(`${HELP}\n\nShipped scenarios: ${shippedScenarioNames().join(", ")}`);
    return 0;
  }

  const speed = parseSpeed(values.speed);
  let loaded: ReturnType<typeof loadScenario>;
  try {
    loaded = loadScenario(values.scenario);
  } catch (error) {
    if (error instanceof ScenarioError) throw new UsageError(error.message);
    throw error;
  }
  const scenario =
    values.seed === undefined
      ? loaded.scenario
      : { ...loaded.scenario, seed: parseSeed(values.seed) };
  const corpus = locateCorpus(values.corpus);
  let corpusCheck: ReturnType<typeof checkCorpus>;
  try {
    corpusCheck = checkCorpus(corpus, scenario.documents);
  } catch (error) {
    if (error instanceof CorpusError) throw new UsageError(error.message);
    throw error;
  }
  const outDir = path.resolve(
    values.out ?? path.join(".warmstate", "runs", new Date().toISOString().replace(/[:.]/g, "-")),
  );

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      console.error(`\nReceived ${signal} again: exiting without cleanup.`);
      process.exit(130);
    }
    console.error(
      `\nReceived ${signal}: stopping the replay, shutting down every environment and writing a partial report...`,
    );
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const progress = new ProgressLine();
  console.error(
    `Replaying ${scenario.name} (seed ${scenario.seed}) on the ${parseBackendName(values.backend)} backend; run folder ${outDir}`,
  );
  if (corpusCheck.notice) console.error(corpusCheck.notice);
  if (corpusCheck.warning) console.error(corpusCheck.warning);
  try {
    const result = await runReplay({
      scenario,
      scenarioFile: loaded.file,
      backend: parseBackendName(values.backend),
      speed,
      outDir,
      port: values.port === undefined ? undefined : parsePort(values.port),
      endpoint: values.endpoint,
      signal: controller.signal,
      keepData: values["keep-data"],
      corpusDir: corpus.dir,
      onProgress: (update) => progress.update(update),
    });
    progress.finish();
    console.log(renderTerminalSummary(result.report));
    console.log(
      `\nReport: ${result.reportHtmlPath}\nData:   ${result.reportJsonPath}\nLogs:   ${path.join(outDir, "simulator.log")}`,
    );
    const code = result.run.interrupted ? 130 : 0;
    // The report is written; if a handle survived a failed shutdown, do not hang on it.
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
    return code;
  } finally {
    progress.finish();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function parseSpeed(value: string): "max" | number {
  if (value === "max") return "max";
  const speed = Number(value);
  if (!Number.isFinite(speed) || speed <= 0)
    throw new UsageError(
      `Invalid --speed "${value}": expected a positive number of simulated seconds per real second, or "max".`,
    );
  return speed;
}

function parseSeed(value: string): number {
  const seed = Number(value);
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1)
    throw new UsageError(`Invalid --seed "${value}": expected an integer from 0 to 4294967295.`);
  return seed;
}
