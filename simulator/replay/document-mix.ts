/**
 * The document mix of a replay: which PDFs arrive, drawn from a folder of real
 * PDFs (the corpus, see corpus-location.ts) and from generated documents, with
 * broken files mixed in at the scenario's rate.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PDFDocument } from "pdf-lib";
import { generatePdf } from "../../functions/shared/generate-pdf.mjs";
import type { TracedDocument } from "./arrivals.ts";
import { SeededRandom } from "./random.ts";
import type { DocumentMix } from "./scenario-schema.ts";

/** Root of the repository this file belongs to. */
export const REPOSITORY_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Scanned-like pages cost about 0.6 MB each at 100 dpi, so larger documents
 * are generated as text pages: a 1,000-page scan would be 600 MB per upload.
 */
const MAX_SCANNED_PAGES = 40;

/** Origin of a document. */
export type DocumentSource = "corpus" | "generated" | "truncated" | "corpus-unreadable";

/** One distinct document the mix can send; arrivals send copies under their own keys. */
export interface DocumentTemplate {
  id: string;
  source: DocumentSource;
  /** Pages, or 0 when the file cannot be parsed. */
  pages: number;
  scanned: boolean;
  /** Corpus file name, for corpus documents. */
  file?: string;
  /** True for documents broken on purpose (truncated or unreadable). */
  bad: boolean;
  bytes(): Promise<Buffer>;
}

/** A corpus file and what pdf-lib reads of it. */
export interface CorpusEntry {
  file: string;
  pages: number;
  /** pdf-lib could not open it or walk its pages (encrypted, not a PDF, page-tree loop), or it has no pages. */
  unreadable: boolean;
}

/** Lists the corpus with page counts, or an empty list when the folder is missing. */
export async function readCorpus(dir: string): Promise<CorpusEntry[]> {
  if (!existsSync(dir)) return [];
  const entries: CorpusEntry[] = [];
  // pdf-lib reports recoverable parse problems on the console; they are expected here.
  const { log, warn } = console;
  console.log = console.warn = () => {};
  try {
    for (const file of readdirSync(dir)
      .filter((name) => name.toLowerCase().endsWith(".pdf"))
      .sort()) {
      try {
        const document = await PDFDocument.load(readFileSync(path.join(dir, file)), {
          updateMetadata: false,
        });
        // getPages() walks the page tree, so loops and over-deep trees fail here (stack overflow).
        const pages = document.getPages().length;
        entries.push({ file, pages, unreadable: pages === 0 });
      } catch {
        entries.push({ file, pages: 0, unreadable: true });
      }
    }
  } finally {
    console.log = log;
    console.warn = warn;
  }
  return entries;
}

/**
 * Chooses documents for arrivals. Generated documents are made once, cached
 * on disk under `cacheDir`, and reused by many arrivals.
 */
export class DocumentPicker {
  readonly corpusDir: string;
  #mix: DocumentMix;
  #random: SeededRandom;
  #cacheDir: string;
  #seed: number;
  #generated: DocumentTemplate[] = [];
  #byPages = new Map<number, DocumentTemplate>();
  #corpus: DocumentTemplate[] = [];
  #bad: DocumentTemplate[] = [];

  private constructor(
    mix: DocumentMix,
    options: { seed: number; cacheDir: string; corpusDir: string },
  ) {
    this.#mix = mix;
    this.#seed = options.seed;
    this.#random = new SeededRandom(options.seed).fork("documents");
    this.#cacheDir = options.cacheDir;
    this.corpusDir = options.corpusDir;
  }

  /** Builds the picker: reads the corpus and plans the distinct generated documents. */
  static async create(
    mix: DocumentMix,
    options: { seed: number; cacheDir: string; corpusDir: string },
  ): Promise<DocumentPicker> {
    const picker = new DocumentPicker(mix, options);
    await picker.#plan();
    return picker;
  }

  /** True when the corpus folder was found and has readable documents. */
  get hasCorpus(): boolean {
    return this.#corpus.length > 0;
  }

  /** Returns every template planned so far. */
  templates(): DocumentTemplate[] {
    return [...this.#generated, ...this.#corpus, ...this.#bad, ...this.#byPages.values()];
  }

  /** Picks the next document; a traced document gets a generated one of its page count. */
  pick(traced?: TracedDocument): DocumentTemplate {
    if (traced) return this.#withPages(traced.pages);
    if (this.#mix.badRate > 0 && this.#random.chance(this.#mix.badRate)) {
      return this.#bad[this.#random.integer(0, this.#bad.length - 1)];
    }
    if (this.#corpus.length > 0 && this.#random.chance(this.#mix.corpusShare)) {
      return this.#corpus[this.#random.integer(0, this.#corpus.length - 1)];
    }
    return this.#generated[this.#random.integer(0, this.#generated.length - 1)];
  }

  async #plan(): Promise<void> {
    const planRandom = new SeededRandom(this.#seed).fork("templates");
    for (let index = 0; index < this.#mix.distinct; index++) {
      const bucket = planRandom.weighted(this.#mix.pages, (candidate) => candidate.weight);
      const pages = planRandom.integer(bucket.range[0], bucket.range[1]);
      const scanned = pages <= MAX_SCANNED_PAGES && planRandom.chance(this.#mix.scannedShare);
      this.#generated.push(
        this.#generatedTemplate(`gen-${index}`, pages, scanned, planRandom.integer(1, 2 ** 31)),
      );
    }

    for (const entry of await readCorpus(this.corpusDir)) {
      const read = () => Promise.resolve(readFileSync(path.join(this.corpusDir, entry.file)));
      const id = `corpus-${entry.file.replace(/\.pdf$/i, "")}`;
      if (entry.unreadable) {
        this.#bad.push({
          id,
          source: "corpus-unreadable",
          pages: 0,
          scanned: false,
          file: entry.file,
          bad: true,
          bytes: read,
        });
      } else {
        this.#corpus.push({
          id,
          source: "corpus",
          pages: entry.pages,
          scanned: false,
          file: entry.file,
          bad: false,
          bytes: read,
        });
      }
    }

    // A truncated copy of a generated document: what a partial upload leaves.
    const whole = this.#generated[0] ?? this.#generatedTemplate("gen-0", 3, false, 1);
    this.#bad.push({
      id: `truncated-${whole.id}`,
      source: "truncated",
      pages: whole.pages,
      scanned: whole.scanned,
      bad: true,
      bytes: async () => {
        const bytes = await whole.bytes();
        return bytes.subarray(0, Math.floor(bytes.length * 0.6));
      },
    });
  }

  #withPages(pages: number): DocumentTemplate {
    let template = this.#byPages.get(pages);
    if (!template) {
      template = this.#generatedTemplate(`trace-${pages}p`, pages, false, pages);
      this.#byPages.set(pages, template);
    }
    return template;
  }

  #generatedTemplate(id: string, pages: number, scanned: boolean, seed: number): DocumentTemplate {
    const scanDpi = this.#mix.scanDpi;
    const cacheKey = createHash("sha256")
      .update(JSON.stringify({ pages, scanned, seed, scanDpi }))
      .digest("hex")
      .slice(0, 16);
    const cacheFile = path.join(this.#cacheDir, `${cacheKey}.pdf`);
    let pending: Promise<Buffer> | undefined;
    const bytes = () => {
      pending ??= (async () => {
        if (existsSync(cacheFile)) return readFileSync(cacheFile);
        const generated: Buffer = await generatePdf({ pages, scanned, seed, scanDpi });
        mkdirSync(this.#cacheDir, { recursive: true });
        writeFileSync(cacheFile, generated);
        return generated;
      })();
      return pending;
    };
    return {
      id: `${id}-${pages}p${scanned ? "-scan" : ""}`,
      source: "generated",
      pages,
      scanned,
      bad: false,
      bytes,
    };
  }
}
