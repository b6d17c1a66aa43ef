/**
 * Generates test PDFs with pdf-lib: text pages, or scanned-like pages whose
 * only content is one large greyscale image, from a seed so the same
 * arguments always give the same document. Used by the tests and by the
 * replay driver to make inputs that the corpus does not have.
 */
import { PDFDocument, PDFName, rgb, StandardFonts } from "pdf-lib";

/**
 * Page sizes in PDF points (1/72 inch), as [width, height].
 * @type {Readonly<{ letter: [number, number], a4: [number, number], max: [number, number] }>}
 */
export const PAGE_SIZES = Object.freeze({
  letter: [612, 792],
  a4: [595.28, 841.89],
  /** The largest page PDF 1.7 allows without UserUnit: 200 inches square. */
  max: [14_400, 14_400],
});

const WORDS = (
  "invoice order total amount due date account customer shipment page report " +
  "summary balance payment reference item quantity price tax net gross"
).split(" ");

// mulberry32: a small seeded generator, enough for reproducible test content.
function createRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function drawTextPage(page, font, random, pageNumber) {
  const [width, height] = [page.getWidth(), page.getHeight()];
  page.drawText(`Page ${pageNumber}`, { x: 56, y: height - 72, size: 18, font });

  const lines = 10 + Math.floor(random() * 25);
  for (let line = 0; line < lines; line++) {
    const y = height - 110 - line * 16;
    if (y < 56) break;
    const words = Array.from(
      { length: 6 + Math.floor(random() * 6) },
      () => WORDS[Math.floor(random() * WORDS.length)],
    );
    page.drawText(words.join(" "), { x: 56, y, size: 11, font, color: rgb(0.1, 0.1, 0.1) });
  }
  page.drawRectangle({
    x: 56,
    y: 40,
    width: (width - 112) * random(),
    height: 6,
    color: rgb(0.8, 0.1, 0.1),
  });
}

// Greyscale pixels that look like a scan: paper noise with dark bands where
// lines of text would be, so the image neither compresses to nothing nor is
// pure noise.
function scannedPixels(width, height, random) {
  const pixels = new Uint8Array(width * height);
  const lineHeight = Math.max(4, Math.round(height / 60));
  for (let y = 0; y < height; y++) {
    const inTextLine = y % (lineHeight * 2) < lineHeight && y > height * 0.08 && y < height * 0.92;
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const paper = 235 + Math.floor(random() * 20);
      const ink = inTextLine && x > width * 0.08 && x < width * 0.92 && random() < 0.45;
      pixels[row + x] = ink ? Math.floor(random() * 70) : paper;
    }
  }
  return pixels;
}

function drawScannedPage(document, page, random, scanDpi) {
  const [width, height] = [page.getWidth(), page.getHeight()];
  const pixelWidth = Math.max(1, Math.round((width / 72) * scanDpi));
  const pixelHeight = Math.max(1, Math.round((height / 72) * scanDpi));

  const stream = document.context.flateStream(scannedPixels(pixelWidth, pixelHeight, random), {
    Type: "XObject",
    Subtype: "Image",
    Width: pixelWidth,
    Height: pixelHeight,
    ColorSpace: "DeviceGray",
    BitsPerComponent: 8,
  });
  const imageRef = document.context.register(stream);
  const name = page.node.newXObject("Scan", imageRef);

  const content = `q ${width} 0 0 ${height} 0 0 cm /${name.asString().slice(1)} Do Q`;
  const contentRef = document.context.register(document.context.stream(content));
  page.node.set(PDFName.of("Contents"), contentRef);
}

/**
 * Makes a PDF of `pages` pages (1 to 100,000). Text pages carry a heading,
 * seeded lines of words and a red bar. With `scanned: true` every page is
 * instead one greyscale image at `scanDpi` (default 150), as a scanner would
 * produce. A large `pageSize` with `scanned` gives the pixel-heavy pages that
 * stress rendering. Returns the PDF bytes.
 *
 * @param {{ pages: number, scanned?: boolean, seed?: number, pageSize?: [number, number], scanDpi?: number }} options
 * @returns {Promise<Buffer>}
 */
export async function generatePdf({
  pages,
  scanned = false,
  seed = 1,
  pageSize = PAGE_SIZES.letter,
  scanDpi = 150,
}) {
  if (!Number.isInteger(pages) || pages < 1 || pages > 100_000) {
    throw new RangeError(`pages must be an integer from 1 to 100000, got ${pages}.`);
  }
  const random = createRandom(seed);
  const document = await PDFDocument.create({ updateMetadata: false });
  const font = scanned ? undefined : await document.embedFont(StandardFonts.Helvetica);

  for (let pageNumber = 1; pageNumber <= pages; pageNumber++) {
    const page = document.addPage(pageSize);
    if (scanned) {
      drawScannedPage(document, page, random, scanDpi);
    } else {
      drawTextPage(page, font, random, pageNumber);
    }
  }
  return Buffer.from(await document.save());
}
