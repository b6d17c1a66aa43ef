/**
 * The pure part of pdf-analyze: renders one page with PDFium and measures the
 * bitmap with sharp. No S3 and no files, so tests can call it directly with a
 * PDFium library they initialised once.
 */
import sharp from "sharp";
import {
  EmptyPDFError,
  EncryptedPDFError,
  InvalidEventError,
  InvalidPDFError,
  PixelLimitExceededError,
  TimeBudgetExceededError,
  TruncatedPDFError,
  ZeroPagesError,
} from "./errors.mjs";

/**
 * Defaults of the analysis options; the handler overrides each from an
 * environment variable of the same meaning (RENDER_DPI, MAX_PIXELS, ...).
 */
export const ANALYSIS_DEFAULTS = Object.freeze({
  /** Render resolution in dots per inch; PDF user space has 72 points per inch. */
  dpi: 100,
  /**
   * Largest bitmap rendered, in pixels. 25 million pixels is a 100 MB RGBA
   * bitmap, held twice at the peak (in PDFium's WebAssembly heap and as the
   * JavaScript copy sharp reads), which a 1024 MB function can afford.
   */
  maxPixels: 25_000_000,
  /** A pixel is ink when its luminance (0 to 255) is below this value. */
  inkThreshold: 128,
  /**
   * A page is blank when at most this share of its pixels is ink. One line of
   * 12 pt text on a Letter page covers about 0.0008 at 100 dpi.
   */
  blankMaxInkCoverage: 0.0001,
  /** Thumbnail width in pixels; smaller pages are not enlarged. */
  thumbnailWidth: 200,
});

const HEADER_WINDOW = 1024;
const TRAILER_WINDOW = 2048;

/** Rejects empty objects, non-PDFs and files cut off before their final `%%EOF`. */
export function checkPdfBytes(bytes) {
  if (bytes.length === 0) {
    throw new EmptyPDFError("The PDF object is empty (0 bytes): upload the page again.");
  }
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, HEADER_WINDOW));
  if (!head.includes("%PDF-")) {
    throw new InvalidPDFError(
      `Not a PDF: no %PDF- header in the first ${HEADER_WINDOW} bytes of a ${bytes.length}-byte object.`,
    );
  }
  const tailStart = Math.max(0, bytes.length - TRAILER_WINDOW);
  const tail = Buffer.from(bytes.buffer, bytes.byteOffset + tailStart, bytes.length - tailStart);
  if (!tail.includes("%%EOF")) {
    throw new TruncatedPDFError(
      `The PDF is truncated: no %%EOF marker in its last ${TRAILER_WINDOW} bytes (size ${bytes.length} bytes).`,
    );
  }
}

// @hyzyla/pdfium 2.1 turns FPDF_GetLastError codes into these messages.
function toLoadError(error) {
  const message = String(error?.message);
  if (/password/i.test(message)) {
    return new EncryptedPDFError(
      "The PDF is encrypted with a user password, so PDFium cannot open it without one: " +
        "ask the sender for an unencrypted copy.",
      { cause: error },
    );
  }
  if (/security scheme/i.test(message)) {
    return new EncryptedPDFError(
      `The PDF uses a security handler PDFium does not support: ${message}`,
      {
        cause: error,
      },
    );
  }
  return new InvalidPDFError(`PDFium could not open the PDF: ${message}`, { cause: error });
}

/** Computes the bitmap size PDFium renders a page to, the same way @hyzyla/pdfium 2.1 does. */
export function renderSize(pageWidthPt, pageHeightPt, dpi) {
  const scale = dpi / 72;
  return {
    scale,
    width: Math.floor(Math.floor(pageWidthPt) * scale),
    height: Math.floor(Math.floor(pageHeightPt) * scale),
  };
}

/** Counts the share of RGBA pixels whose luminance (ITU-R BT.601 weights) is below `threshold`. */
export function inkCoverage(rgba, threshold) {
  const pixels = rgba.length / 4;
  if (pixels === 0) return 0;
  const limit = threshold * 1000;
  let ink = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    if (299 * rgba[i] + 587 * rgba[i + 1] + 114 * rgba[i + 2] < limit) ink += 1;
  }
  return ink / pixels;
}

/**
 * Renders page `pageIndex` (0-based) of a PDF and measures it. PDFium opens
 * files encrypted with an empty user password by itself; files that need a
 * password end in EncryptedPDFError. Returns the page size in points, the
 * bitmap size, per-channel mean and standard deviation, ink coverage, the
 * blank-page verdict and a JPEG thumbnail.
 *
 * PDFium runs synchronously, so the deadline is checked between steps; its
 * parser bounds page-tree depth and detects cross-reference loops itself.
 */
export async function analyzePdfPage(library, bytes, options = {}) {
  const settings = { ...ANALYSIS_DEFAULTS, ...options };
  const { pageIndex = 0, deadline = Date.now() + 60_000 } = options;
  checkPdfBytes(bytes);

  let document;
  try {
    document = await library.loadDocument(bytes);
  } catch (error) {
    throw toLoadError(error);
  }

  try {
    const pageCount = document.getPageCount();
    if (pageCount === 0) {
      throw new ZeroPagesError(
        "The PDF has no pages (its page tree is empty): there is nothing to analyze.",
      );
    }
    if (pageIndex < 0 || pageIndex >= pageCount) {
      throw new InvalidEventError(
        `Page index ${pageIndex} is out of range: the PDF has ${pageCount} pages.`,
      );
    }

    const page = document.getPage(pageIndex);
    const { originalWidth, originalHeight } = page.getOriginalSize();
    const { scale, width, height } = renderSize(originalWidth, originalHeight, settings.dpi);
    if (width < 1 || height < 1) {
      throw new InvalidPDFError(
        `Page ${pageIndex + 1} is ${originalWidth}x${originalHeight} pt, which renders to an empty ` +
          `${width}x${height} bitmap at ${settings.dpi} dpi.`,
      );
    }
    if (width * height > settings.maxPixels) {
      throw new PixelLimitExceededError(
        `Page ${pageIndex + 1} renders to ${width}x${height} = ${width * height} pixels at ${settings.dpi} dpi, ` +
          `above the limit of ${settings.maxPixels}: raise MAX_PIXELS or lower RENDER_DPI.`,
      );
    }
    if (Date.now() > deadline) {
      throw new TimeBudgetExceededError(
        "Ran out of time before rendering the page: raise the function timeout.",
      );
    }

    // The "bitmap" renderer returns PDFium's buffer as is. The library sets
    // PDFium's reverse-byte-order flag, so pixels come out as RGBA, not BGRA.
    const bitmap = await page.render({ scale, render: "bitmap" });
    const raw = { raw: { width: bitmap.width, height: bitmap.height, channels: 4 } };
    const stats = await sharp(bitmap.data, raw).stats();
    const coverage = inkCoverage(bitmap.data, settings.inkThreshold);
    const thumbnail = await sharp(bitmap.data, raw)
      .removeAlpha()
      .resize({ width: settings.thumbnailWidth, withoutEnlargement: true })
      .jpeg({ quality: 75 })
      .toBuffer();

    return {
      pageCount,
      pageWidthPt: originalWidth,
      pageHeightPt: originalHeight,
      dpi: settings.dpi,
      width: bitmap.width,
      height: bitmap.height,
      channels: ["red", "green", "blue"].map((name, i) => ({
        name,
        mean: stats.channels[i].mean,
        stdev: stats.channels[i].stdev,
      })),
      inkCoverage: coverage,
      blank: coverage <= settings.blankMaxInkCoverage,
      thumbnail,
    };
  } finally {
    document.destroy();
  }
}
