/**
 * Locates the shared PDF corpus. CI clones the repository with shared/ beside
 * it, so the corpus is `<repository>/../shared/corpus/pdfs`.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Absolute path of the corpus folder. */
export const CORPUS_DIR = fileURLToPath(new URL("../../../shared/corpus/pdfs/", import.meta.url));

/** Reads one corpus file by name. */
export function readCorpusFile(name: string): Buffer {
  return readFileSync(CORPUS_DIR + name);
}

/**
 * What each corpus file gives, measured with pdf-lib 1.17.1 (split) and
 * @hyzyla/pdfium 2.1.13 (analyze of the first page at 100 dpi): a page count,
 * or the `name` of the error that ends the invocation.
 * - split: pdf-lib rejects every encrypted file, even with an empty user
 *   password, and pdf-split's own page-tree walk rejects loops.
 * - analyze: PDFium opens files whose user password is empty; the qpdf
 *   20-page file needs a password after all. The fax scan without a trailer
 *   /ID opens but renders blank, because its key cannot be derived.
 */
export const CORPUS_EXPECTATIONS: ReadonlyArray<{
  file: string;
  split: number | string;
  analyze: { pages: number; blank: boolean } | string;
}> = [
  {
    file: "blank-page-without-contents-in-3-page-doc.pdf",
    split: 3,
    analyze: { pages: 3, blank: false },
  },
  { file: "broken-xref-extra-text-in-table.pdf", split: 1, analyze: { pages: 1, blank: false } },
  { file: "broken-xref-prev-loop-30-pages.pdf", split: 30, analyze: { pages: 30, blank: false } },
  {
    file: "broken-xref-stream-startxref-missing.pdf",
    split: 1,
    analyze: { pages: 1, blank: false },
  },
  { file: "broken-xref-stream-wrong-size.pdf", split: 1, analyze: { pages: 1, blank: true } },
  { file: "cad-a3-page-rotate-270.pdf", split: 1, analyze: { pages: 1, blank: false } },
  { file: "control-unencrypted-baseline.pdf", split: 1, analyze: { pages: 1, blank: false } },
  { file: "corrupt-jpeg-image.pdf", split: 1, analyze: { pages: 1, blank: false } },
  { file: "damaged-lzw-content-stream.pdf", split: 1, analyze: { pages: 1, blank: false } },
  {
    file: "encrypted-aes-128-r4-user-password.pdf",
    split: "EncryptedPDFError",
    analyze: "EncryptedPDFError",
  },
  {
    file: "encrypted-aes-256-r6-empty-user-password.pdf",
    split: "EncryptedPDFError",
    analyze: { pages: 1, blank: false },
  },
  {
    file: "encrypted-aes-256-r6-user-password.pdf",
    split: "EncryptedPDFError",
    analyze: "EncryptedPDFError",
  },
  {
    file: "encrypted-rc4-128-20-pages-empty-user-password.pdf",
    split: "EncryptedPDFError",
    analyze: "EncryptedPDFError",
  },
  {
    file: "encrypted-rc4-128-images-object-streams.pdf",
    split: "EncryptedPDFError",
    analyze: { pages: 2, blank: false },
  },
  {
    file: "encrypted-rc4-128-libreoffice-writer-password.pdf",
    split: "EncryptedPDFError",
    analyze: "EncryptedPDFError",
  },
  {
    file: "encrypted-rc4-128-r3-empty-user-password.pdf",
    split: "EncryptedPDFError",
    analyze: { pages: 1, blank: false },
  },
  {
    file: "encrypted-rc4-40-r2-empty-user-password.pdf",
    split: "EncryptedPDFError",
    analyze: { pages: 1, blank: false },
  },
  {
    file: "encrypted-rc4-40-r2-user-password.pdf",
    split: "EncryptedPDFError",
    analyze: "EncryptedPDFError",
  },
  {
    file: "encrypted-rc4-no-trailer-id-fax-scan-3-pages.pdf",
    split: "EncryptedPDFError",
    analyze: { pages: 3, blank: true },
  },
  {
    file: "fuzz-stream-inside-object-stream-no-header.pdf",
    split: "InvalidPDFError",
    analyze: "InvalidPDFError",
  },
  {
    file: "hybrid-xref-table-plus-stream-30-pages.pdf",
    split: 30,
    analyze: { pages: 30, blank: false },
  },
  { file: "images-9-pages-dct-flate-runlength.pdf", split: 9, analyze: { pages: 9, blank: false } },
  { file: "inherited-mediabox-3-pages.pdf", split: 3, analyze: { pages: 3, blank: false } },
  { file: "large-inline-images-1.7mb.pdf", split: 1, analyze: { pages: 1, blank: false } },
  {
    file: "linearized-bad-hint-stream-large-alloc.pdf",
    split: 30,
    analyze: { pages: 30, blank: false },
  },
  {
    file: "multipage-19-pages-object-streams-jpeg.pdf",
    split: 19,
    analyze: { pages: 19, blank: false },
  },
  { file: "non-standard-page-2083pt-square.pdf", split: 1, analyze: { pages: 1, blank: false } },
  {
    file: "not-a-pdf-23-bytes-startxref-only.pdf",
    split: "InvalidPDFError",
    analyze: "InvalidPDFError",
  },
  { file: "object-stream-large.pdf", split: 1, analyze: { pages: 1, blank: false } },
  { file: "page-tree-loop.pdf", split: "InvalidPDFError", analyze: { pages: 1, blank: false } },
  {
    file: "page-tree-same-page-object-repeated-7-pages.pdf",
    split: 7,
    analyze: { pages: 7, blank: false },
  },
  { file: "page-tree-too-deep.pdf", split: "InvalidPDFError", analyze: "InvalidPDFError" },
  { file: "rotated-20-pages-0-90-180-270.pdf", split: 20, analyze: { pages: 20, blank: false } },
  {
    file: "rotated-8-pages-offset-mediabox-and-boxes.pdf",
    split: 8,
    analyze: { pages: 8, blank: false },
  },
  {
    file: "rotated-indirect-rotate-fax-scan-5-pages.pdf",
    split: 5,
    analyze: { pages: 5, blank: false },
  },
  { file: "rotated-inherited-from-pages-node.pdf", split: 1, analyze: { pages: 1, blank: false } },
  { file: "scanned-6-pages-jbig2-jpx-ocr.pdf", split: 6, analyze: { pages: 6, blank: false } },
  { file: "single-page-a4-800x600-jpeg.pdf", split: 1, analyze: { pages: 1, blank: false } },
  { file: "tiny-page-4pt-ccittfax-image.pdf", split: 1, analyze: { pages: 1, blank: false } },
  { file: "zero-pages.pdf", split: "ZeroPagesError", analyze: "ZeroPagesError" },
];
