import { readdirSync } from "node:fs";
import { PDFiumLibrary } from "@hyzyla/pdfium";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkPdfBytes,
  deadlineFromContext,
  MAX_PAGE_TREE_DEPTH,
  splitPdf,
} from "../../functions/pdf-split/split.mjs";
import { generatePdf } from "../../functions/shared/generate-pdf.mjs";
import { CORPUS_DIR, CORPUS_EXPECTATIONS, readCorpusFile } from "./corpus.ts";

async function splitToBuffers(bytes: Uint8Array, deadline?: number) {
  const pages: Uint8Array[] = [];
  const numbers: number[] = [];
  const { pageCount } = await splitPdf(bytes, {
    deadline,
    onPage: async (pageNumber: number, page: Uint8Array) => {
      numbers.push(pageNumber);
      pages.push(page);
    },
  });
  return { pageCount, pages, numbers };
}

async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).name;
  }
  return "no error";
}

// A page tree `depth` levels deep with one page at the bottom and no loop,
// written by hand because pdf-lib cannot build one.
function deepPageTreePdf(depth: number): Buffer {
  const objects: string[] = ["<< /Type /Catalog /Pages 2 0 R >>"];
  for (let level = 0; level < depth; level++) {
    const id = level + 2;
    const parent = level === 0 ? "" : ` /Parent ${id - 1} 0 R`;
    objects.push(`<< /Type /Pages /Kids [${id + 1} 0 R] /Count 1${parent} >>`);
  }
  objects.push(`<< /Type /Page /Parent ${depth + 1} 0 R /MediaBox [0 0 612 792] >>`);

  let body = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(body.length);
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xrefOffset = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, "0")} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xrefOffset}\n%%EOF\n`;
  return Buffer.from(body, "latin1");
}

describe("split corpus table", () => {
  it("covers every PDF in the corpus folder", () => {
    const files = readdirSync(CORPUS_DIR)
      .filter((name) => name.endsWith(".pdf"))
      .sort();

    expect(CORPUS_EXPECTATIONS.map((entry) => entry.file).sort()).toEqual(files);
  });

  for (const { file, split } of CORPUS_EXPECTATIONS) {
    const outcome = typeof split === "number" ? `${split} pages` : split;
    it(`splits ${file} into ${outcome}`, async () => {
      const bytes = readCorpusFile(file);

      if (typeof split === "number") {
        const result = await splitToBuffers(bytes);
        expect(result.pageCount).toBe(split);
        expect(result.pages).toHaveLength(split);
        expect(result.numbers).toEqual(Array.from({ length: split }, (_, i) => i + 1));
      } else {
        expect(await errorName(splitToBuffers(bytes))).toBe(split);
      }
    });
  }
});

describe("split page fidelity", () => {
  let pdfium: Awaited<ReturnType<typeof PDFiumLibrary.init>>;
  beforeAll(async () => {
    pdfium = await PDFiumLibrary.init();
  });
  afterAll(() => pdfium.destroy());

  const rotatedAndBoxed = [
    "rotated-20-pages-0-90-180-270.pdf",
    "rotated-8-pages-offset-mediabox-and-boxes.pdf",
    "rotated-inherited-from-pages-node.pdf",
    "rotated-indirect-rotate-fax-scan-5-pages.pdf",
    "inherited-mediabox-3-pages.pdf",
    "cad-a3-page-rotate-270.pdf",
  ];
  for (const file of rotatedAndBoxed) {
    it(`keeps page sizes and rotation of ${file}`, async () => {
      const bytes = readCorpusFile(file);
      const source = await pdfium.loadDocument(bytes);
      const { pages } = await splitToBuffers(bytes);

      for (const [index, page] of pages.entries()) {
        const single = await pdfium.loadDocument(page);
        expect(single.getPageCount()).toBe(1);
        expect(single.getPage(0).getOriginalSize()).toEqual(
          source.getPage(index).getOriginalSize(),
        );
        single.destroy();
      }
      source.destroy();
    });
  }
});

describe("split of generated documents", () => {
  for (const pages of [1, 50]) {
    it(`splits a ${pages}-page document into ${pages} valid PDFs`, async () => {
      const bytes = await generatePdf({ pages, seed: pages });

      const result = await splitToBuffers(bytes);

      expect(result.pageCount).toBe(pages);
      for (const page of result.pages) {
        expect(Buffer.from(page.subarray(0, 5)).toString()).toBe("%PDF-");
        expect(() => checkPdfBytes(page)).not.toThrow();
      }
    });
  }

  it("splits a 2,000-page document in order", async () => {
    const bytes = await generatePdf({ pages: 2000, seed: 2000 });

    const result = await splitToBuffers(bytes);

    expect(result.pageCount).toBe(2000);
    expect(result.numbers[0]).toBe(1);
    expect(result.numbers[1999]).toBe(2000);
  });

  it("splits scanned pages that each carry a large image", async () => {
    const bytes = await generatePdf({ pages: 2, scanned: true, seed: 5 });

    const result = await splitToBuffers(bytes);

    expect(result.pageCount).toBe(2);
    for (const page of result.pages) expect(page.length).toBeGreaterThan(bytes.length / 4);
  });
});

describe("split of bad input", () => {
  it("rejects an empty object with EmptyPDFError", async () => {
    expect(await errorName(splitToBuffers(new Uint8Array(0)))).toBe("EmptyPDFError");
  });

  it("rejects a truncated upload with TruncatedPDFError", async () => {
    const bytes = readCorpusFile("multipage-19-pages-object-streams-jpeg.pdf");

    for (const fraction of [0.1, 0.5, 0.99]) {
      const truncated = bytes.subarray(0, Math.floor(bytes.length * fraction));
      expect(await errorName(splitToBuffers(truncated))).toBe("TruncatedPDFError");
    }
  });

  it("rejects a non-PDF with InvalidPDFError", async () => {
    const text = Buffer.from("<html><body>not a pdf</body></html>\n%%EOF\n");

    expect(await errorName(splitToBuffers(text))).toBe("InvalidPDFError");
  });

  it("rejects a page tree deeper than the limit", async () => {
    const bytes = deepPageTreePdf(MAX_PAGE_TREE_DEPTH + 5);

    expect(await errorName(splitToBuffers(bytes))).toBe("InvalidPDFError");
  });

  it("accepts a page tree just below the depth limit", async () => {
    const result = await splitToBuffers(deepPageTreePdf(64));

    expect(result.pageCount).toBe(1);
  });

  it("stops with TimeBudgetExceededError once the deadline passes", async () => {
    const bytes = await generatePdf({ pages: 20, seed: 9 });

    expect(await errorName(splitToBuffers(bytes, Date.now() - 1))).toBe("TimeBudgetExceededError");
  });
});

describe("split time budget", () => {
  it("keeps a fifth of a short timeout in reserve", () => {
    const before = Date.now();
    const deadline = deadlineFromContext({ getRemainingTimeInMillis: () => 3000 });

    expect(deadline - before).toBeGreaterThanOrEqual(2400);
    expect(deadline - Date.now()).toBeLessThanOrEqual(2400);
  });

  it("keeps at most 3 seconds of a long timeout in reserve", () => {
    const before = Date.now();
    const deadline = deadlineFromContext({ getRemainingTimeInMillis: () => 900_000 });

    expect(deadline - before).toBeGreaterThanOrEqual(897_000);
    expect(deadline - Date.now()).toBeLessThanOrEqual(897_000);
  });
});
