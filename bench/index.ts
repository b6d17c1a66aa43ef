/**
 * `npm run bench`: every performance target of the project, each measured
 * as a ratio against a baseline taken in the same run, so the numbers hold
 * on any machine. `--json` prints one JSON object; `--only NAME` runs one
 * section.
 */
import { parseArgs } from "node:util";

type Section = { name: string; run: () => Promise<Record<string, number>> };

const SECTIONS: Section[] = [
  { name: "lambda-process", run: async () => (await import("./lambda-core.ts")).benchLambdaCore("process") },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      only: { type: "string" },
    },
  });
  const selected = values.only ? SECTIONS.filter((section) => section.name === values.only) : SECTIONS;
  if (selected.length === 0) {
    throw new Error(`Unknown section "${values.only}". Valid sections: ${SECTIONS.map((s) => s.name).join(", ")}.`);
  }

  const results: Record<string, number | string> = {};
  for (const section of selected) {
    if (!values.json) console.error(`running ${section.name}...`);
    try {
      Object.assign(results, await section.run());
    } catch (error) {
      results[`${section.name}.error`] = (error as Error).message;
    }
  }

  if (values.json) {
    console.log(JSON.stringify(results));
    return;
  }
  const width = Math.max(...Object.keys(results).map((key) => key.length));
  for (const [key, value] of Object.entries(results)) console.log(`${key.padEnd(width)}  ${value}`);
}

await main();
