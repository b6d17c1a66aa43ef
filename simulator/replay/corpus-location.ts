/**
 * Location of a replay's PDF corpus: the `--corpus` option, else the
 * WARMSTATE_CORPUS_DIR environment variable, else a folder beside the
 * repository. A named folder must exist. A missing default folder is allowed,
 * so a fresh clone still runs, but the replay warns, because it then sends
 * generated documents only and its failures differ.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { REPOSITORY_ROOT } from "./document-mix.ts";
import type { DocumentMix } from "./scenario-schema.ts";

/** Environment variable naming the corpus folder; `--corpus` overrides it. */
export const CORPUS_DIR_VARIABLE = "WARMSTATE_CORPUS_DIR";

/** The corpus folder used when none is named: `<repository>/../shared/corpus/pdfs`. */
export const DEFAULT_CORPUS_DIR = path.resolve(REPOSITORY_ROOT, "..", "shared", "corpus", "pdfs");

/** A corpus folder and what chose it. */
export interface CorpusLocation {
  /** Absolute path of the folder. */
  dir: string;
  /** `option` for `--corpus`, `environment` for WARMSTATE_CORPUS_DIR, `default` otherwise. */
  source: "option" | "environment" | "default";
}

/** Lines a replay prints about its corpus before it starts. */
export interface CorpusCheck {
  /** One line naming the folder and its PDF count; set when the folder has PDF files. */
  notice?: string;
  /** Set when the default folder is missing or empty and the scenario draws from the corpus. */
  warning?: string;
}

/** A corpus folder named by `--corpus` or WARMSTATE_CORPUS_DIR that is missing or contains no PDF file. */
export class CorpusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CorpusError";
  }
}

/** Picks the corpus folder: `option` first, then the environment variable, then the default. */
export function locateCorpus(
  option: string | undefined,
  environment: NodeJS.ProcessEnv = process.env,
  defaultDir: string = DEFAULT_CORPUS_DIR,
): CorpusLocation {
  if (option) return { dir: path.resolve(option), source: "option" };

  const fromEnvironment = environment[CORPUS_DIR_VARIABLE];
  if (fromEnvironment) return { dir: path.resolve(fromEnvironment), source: "environment" };

  return { dir: defaultDir, source: "default" };
}

/**
 * Checks a corpus folder before a replay starts.
 *
 * @throws CorpusError when a folder named by `--corpus` or the variable is
 *   missing, is not a folder, or contains no `.pdf` file.
 */
export function checkCorpus(location: CorpusLocation, mix: DocumentMix): CorpusCheck {
  const named = location.source === "option" ? "--corpus" : CORPUS_DIR_VARIABLE;
  const pdfCount = countPdfFiles(location.dir);

  if (pdfCount === undefined && location.source !== "default") {
    throw new CorpusError(
      `Corpus folder ${location.dir} (from ${named}) not found. Point ${named} at a folder of .pdf files, or leave it unset to run without a corpus.`,
    );
  }
  if (pdfCount === 0 && location.source !== "default") {
    throw new CorpusError(
      `Corpus folder ${location.dir} (from ${named}) contains no .pdf file. Point ${named} at a folder of .pdf files, or leave it unset to run without a corpus.`,
    );
  }

  if (pdfCount !== undefined && pdfCount > 0) {
    const origin = location.source === "default" ? "the default folder" : named;
    return { notice: `PDF corpus: ${pdfCount} files in ${location.dir} (${origin}).` };
  }

  // Unreadable corpus files are the broken documents besides truncated ones,
  // so the corpus matters when either share is above 0.
  if (mix.corpusShare === 0 && mix.badRate === 0) return {};
  const found = pdfCount === undefined ? "not found" : "contains no .pdf file";
  return {
    warning: [
      `Warning: the PDF corpus folder ${location.dir} ${found}.`,
      `This replay sends generated documents only: none of the scenario's corpus share (documents.corpusShare ${mix.corpusShare}),`,
      "and its broken documents are truncated copies, never unreadable corpus files. Its documents, page counts",
      "and failures differ from a run with the corpus.",
      `To use a corpus, pass --corpus DIR or set ${CORPUS_DIR_VARIABLE}=DIR (a folder of .pdf files).`,
    ].join("\n"),
  };
}

/** Counts the `.pdf` files of a folder, or returns undefined when it is missing or not a folder. */
function countPdfFiles(dir: string): number | undefined {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  return readdirSync(dir).filter((name) => name.toLowerCase().endsWith(".pdf")).length;
}
