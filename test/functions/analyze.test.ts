import { PDFiumLibrary } from "@hyzyla/pdfium";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ANALYSIS_DEFAULTS,
  analyzePdfPage,
  inkCoverage,
  renderSize,
} from "../../functions/pdf-analyze/analyze.mjs";
import { generatePdf, PAGE_SIZES } from "../../functions/shared/generate-pdf.mjs";
import { CORPUS_EXPECTATIONS, readCorpusFile } from "./corpus.ts";

let pdfium: Awaited<ReturnType<typeof PDFiumLibrary.init>>;
beforeAll(async () => {
  pdfium = await PDFiumLibrary.init();
});
afterAll(() => pdfium.destroy());

async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).name;
  }
  return "no error";
}

describe("analyze corpus table", () => {
  for (const { file, analyze } of CORPUS_EXPECTATIONS) {
    const outcome =
      typeof analyze === "string"
        ? analyze
        : `${analyze.blank ? "a blank" : "an inked"} first page`;
    it(`analyzes ${file} as ${outcome}`, async () => {
      const bytes = readCorpusFile(file);

      if (typeof analyze === "string") {
        expect(await errorName(analyzePdfPage(pdfium, bytes))).toBe(analyze);
        return;
      }
      const result = await analyzePdfPage(pdfium, bytes);
      expect(result.pageCount).toBe(analyze.pages);
      expect(result.blank).toBe(analyze.blank);
      expect(result.width).toBeGreaterThan(0);
      expect(result.height).toBeGreaterThan(0);
      expect(result.channels).toHaveLength(3);
    });
  }
});

describe("analyze measurements", () => {
  it("finds the page without contents blank and its neighbours inked", async () => {
    const bytes = readCorpusFile("blank-page-without-contents-in-3-page-doc.pdf");

    const verdicts = [];
    for (const pageIndex of [0, 1, 2])
      verdicts.push((await analyzePdfPage(pdfium, bytes, { pageIndex })).blank);

    expect(verdicts).toEqual([false, true, false]);
  });

  it("renders a Letter page at 100 dpi to 850x1100 pixels", async () => {
    const result = await analyzePdfPage(pdfium, await generatePdf({ pages: 1, seed: 1 }));

    expect([result.width, result.height]).toEqual([850, 1100]);
    expect([result.pageWidthPt, result.pageHeightPt]).toEqual(PAGE_SIZES.letter);
  });

  it("swaps width and height of a page rotated by 270 degrees", async () => {
    // Pages 1 and 3 of this file have /Rotate 0 and /Rotate 270.
    const bytes = readCorpusFile("rotated-20-pages-0-90-180-270.pdf");

    const upright = await analyzePdfPage(pdfium, bytes, { pageIndex: 0 });
    const turned = await analyzePdfPage(pdfium, bytes, { pageIndex: 2 });

    expect([turned.width, turned.height]).toEqual([upright.height, upright.width]);
  });

  it("reports channels in RGB order", async () => {
    // Generated text pages end with a red bar, so red outweighs blue.
    const result = await analyzePdfPage(pdfium, await generatePdf({ pages: 1, seed: 3 }));
    const [red, green, blue] = result.channels;

    expect(red.name).toBe("red");
    expect(red.mean).toBeGreaterThan(blue.mean);
    expect(red.mean).toBeGreaterThan(green.mean);
  });

  it("measures more ink on a scanned page than on a text page", async () => {
    const text = await analyzePdfPage(pdfium, await generatePdf({ pages: 1, seed: 4 }));
    const scanned = await analyzePdfPage(
      pdfium,
      await generatePdf({ pages: 1, scanned: true, seed: 4 }),
    );

    expect(scanned.inkCoverage).toBeGreaterThan(text.inkCoverage);
    expect(scanned.channels[0].stdev).toBeGreaterThan(text.channels[0].stdev);
  });

  it("makes a JPEG thumbnail of the configured width", async () => {
    const result = await analyzePdfPage(pdfium, await generatePdf({ pages: 1, seed: 5 }), {
      thumbnailWidth: 120,
    });

    const metadata = await sharp(result.thumbnail).metadata();
    expect(metadata.format).toBe("jpeg");
    expect(metadata.width).toBe(120);
  });

  it("counts ink by luminance against the threshold", () => {
    const rgba = Uint8Array.from([
      0, 0, 0, 255, 255, 255, 255, 255, 100, 100, 100, 255, 200, 200, 200, 255,
    ]);

    expect(inkCoverage(rgba, 128)).toBe(0.5);
    expect(inkCoverage(new Uint8Array(0), 128)).toBe(0);
  });
});

describe("analyze of bad input", () => {
  it("rejects a page above MAX_PIXELS before rendering it", async () => {
    const bytes = await generatePdf({
      pages: 1,
      scanned: true,
      seed: 6,
      pageSize: PAGE_SIZES.max,
      scanDpi: 2,
    });
    const { width, height } = renderSize(
      PAGE_SIZES.max[0],
      PAGE_SIZES.max[1],
      ANALYSIS_DEFAULTS.dpi,
    );

    expect(width * height).toBeGreaterThan(ANALYSIS_DEFAULTS.maxPixels);
    expect(await errorName(analyzePdfPage(pdfium, bytes))).toBe("PixelLimitExceededError");
  });

  it("applies a lower pixel limit to an ordinary page", async () => {
    const bytes = await generatePdf({ pages: 1, seed: 7 });

    expect(await errorName(analyzePdfPage(pdfium, bytes, { maxPixels: 850 * 1100 - 1 }))).toBe(
      "PixelLimitExceededError",
    );
    expect(await errorName(analyzePdfPage(pdfium, bytes, { maxPixels: 850 * 1100 }))).toBe(
      "no error",
    );
  });

  it("rejects an empty object with EmptyPDFError", async () => {
    expect(await errorName(analyzePdfPage(pdfium, new Uint8Array(0)))).toBe("EmptyPDFError");
  });

  it("rejects a truncated page with TruncatedPDFError", async () => {
    const bytes = readCorpusFile("single-page-a4-800x600-jpeg.pdf");

    expect(await errorName(analyzePdfPage(pdfium, bytes.subarray(0, bytes.length / 2)))).toBe(
      "TruncatedPDFError",
    );
  });

  it("rejects a page index past the last page", async () => {
    const bytes = await generatePdf({ pages: 2, seed: 8 });

    expect(await errorName(analyzePdfPage(pdfium, bytes, { pageIndex: 2 }))).toBe(
      "InvalidEventError",
    );
  });

  it("stops with TimeBudgetExceededError when the deadline has passed", async () => {
    const bytes = await generatePdf({ pages: 1, seed: 9 });

    expect(await errorName(analyzePdfPage(pdfium, bytes, { deadline: Date.now() - 1 }))).toBe(
      "TimeBudgetExceededError",
    );
  });

  it("keeps working after a failed document", async () => {
    await errorName(
      analyzePdfPage(pdfium, readCorpusFile("encrypted-aes-256-r6-user-password.pdf")),
    );

    const result = await analyzePdfPage(pdfium, readCorpusFile("control-unencrypted-baseline.pdf"));

    expect(result.pageCount).toBe(1);
  });
});
