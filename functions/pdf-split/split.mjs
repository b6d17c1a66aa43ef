/**
 * The pure part of pdf-split: checks the bytes, parses them with pdf-lib and
 * turns a document into single-page PDFs. No S3 and no files, so tests can
 * call it directly.
 */
import { PDFArray, PDFDict, PDFDocument, PDFName, PDFRef } from "pdf-lib";
import {
  EmptyPDFError,
  EncryptedPDFError,
  InvalidPDFError,
  TimeBudgetExceededError,
  TruncatedPDFError,
  ZeroPagesError,
} from "./errors.mjs";

/**
 * Deepest /Pages nesting accepted. pdf-lib 1.17 walks the tree recursively
 * without a limit: on Node.js 20 it handles 5,000 levels and overflows the
 * stack at 20,000.
 */
export const MAX_PAGE_TREE_DEPTH = 1024;

/** Page-tree nodes visited at most, so a tree that reuses subtrees cannot blow up. */
export const MAX_PAGE_TREE_NODES = 1_000_000;

// The header is looked for in the first 1024 bytes, because tolerant readers
// skip leading junk, and `%%EOF`, which ends the file's last incremental
// update, in the last 2048.
const HEADER_WINDOW = 1024;
const TRAILER_WINDOW = 2048;

/**
 * Rejects bytes that cannot be a whole PDF before parsing them: empty
 * objects, files without a `%PDF-` header and files cut off before their
 * final `%%EOF`.
 */
export function checkPdfBytes(bytes) {
  if (bytes.length === 0) {
    throw new EmptyPDFError("The PDF object is empty (0 bytes): upload the document again.");
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
      `The PDF is truncated: no %%EOF marker in its last ${TRAILER_WINDOW} bytes (size ${bytes.length} bytes). ` +
        "Check that the upload completed.",
    );
  }
}

/**
 * Returns an absolute deadline (epoch ms) for the work of one invocation:
 * the Lambda context's remaining time less a reserve for uploads and the
 * response. The reserve is a fifth of the remaining time and at most
 * `reserveMs`, so Lambda's default 3-second timeout still leaves 2.4 seconds
 * of work. Without a context (tests) the budget is `fallbackMs`.
 */
export function deadlineFromContext(context, { reserveMs = 3000, fallbackMs = 60_000 } = {}) {
  const remaining =
    typeof context?.getRemainingTimeInMillis === "function"
      ? context.getRemainingTimeInMillis()
      : fallbackMs;
  return Date.now() + remaining - Math.min(reserveMs, remaining * 0.2);
}

function checkDeadline(deadline, step) {
  if (Date.now() > deadline) {
    throw new TimeBudgetExceededError(
      `Ran out of time while ${step}: the invocation's time budget is spent. ` +
        "Raise the function timeout or split the document into smaller batches.",
    );
  }
}

/**
 * Parses a PDF with pdf-lib under a deadline. pdf-lib 1.17 parses the file in
 * one forward pass and never follows /Prev chains, so cross-reference loops
 * cannot trap it. It pauses every `objectsPerTick` objects, which lets the
 * deadline timer fire between slices. An abandoned parse then runs to the
 * end of the file in the background, which the file's size bounds.
 */
export async function loadPdf(bytes, { deadline = Date.now() + 60_000 } = {}) {
  checkPdfBytes(bytes);

  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(
      () => {
        reject(
          new TimeBudgetExceededError(
            "Parsing the PDF did not finish within the invocation's time budget.",
          ),
        );
      },
      Math.max(0, deadline - Date.now()),
    );
  });
  // Each pause is a setTimeout(0) of about 1 ms, so 1000 objects a slice
  // adds about 1 ms per 1000 objects while still letting the timer fire.
  const parse = PDFDocument.load(bytes, { updateMetadata: false, objectsPerTick: 1000 });
  parse.catch(() => {});

  try {
    return await Promise.race([parse, expired]);
  } catch (error) {
    if (error instanceof TimeBudgetExceededError) throw error;
    // pdf-lib 1.17 is compiled to ES5, where `instanceof` fails for Error
    // subclasses, so its EncryptedPDFError is recognised by its message.
    if (/is encrypted/.test(String(error?.message))) {
      throw new EncryptedPDFError(
        "The PDF is encrypted and pdf-lib cannot decrypt it, even with an empty user password: " +
          "ask the sender for an unencrypted copy.",
        { cause: error },
      );
    }
    throw new InvalidPDFError(`The PDF could not be parsed: ${error.message}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Walks the /Pages tree without recursion and counts its leaves, rejecting a
 * node that is its own ancestor (a loop) and trees nested deeper than
 * MAX_PAGE_TREE_DEPTH, both of which overflow pdf-lib's recursive walk.
 */
export function countPageTreeLeaves(doc) {
  const root = doc.catalog.get(PDFName.of("Pages"));
  const stack = [{ node: root, depth: 0, ancestors: new Set() }];
  let leaves = 0;
  let visited = 0;

  while (stack.length > 0) {
    const { node, depth, ancestors } = stack.pop();
    visited += 1;
    if (visited > MAX_PAGE_TREE_NODES) {
      throw new InvalidPDFError(
        `The page tree has more than ${MAX_PAGE_TREE_NODES} nodes: refusing to walk it.`,
      );
    }
    if (node instanceof PDFRef && ancestors.has(node.tag)) {
      throw new InvalidPDFError(
        `The page tree contains a loop: object ${node.tag} is its own ancestor.`,
      );
    }
    if (depth > MAX_PAGE_TREE_DEPTH) {
      throw new InvalidPDFError(
        `The page tree is nested deeper than ${MAX_PAGE_TREE_DEPTH} levels.`,
      );
    }

    const dict = node instanceof PDFRef ? doc.context.lookup(node) : node;
    if (!(dict instanceof PDFDict)) continue;
    const kids = dict.lookup(PDFName.of("Kids"));
    if (!(kids instanceof PDFArray)) {
      leaves += 1;
      continue;
    }

    const path = node instanceof PDFRef ? new Set(ancestors).add(node.tag) : ancestors;
    for (let i = kids.size() - 1; i >= 0; i--) {
      stack.push({ node: kids.get(i), depth: depth + 1, ancestors: path });
    }
  }
  return leaves;
}

/**
 * Splits a PDF into single-page PDFs. `onPage(pageNumber, bytes)` receives
 * each page as it is made (1-based numbers, in order) and is awaited, so the
 * caller decides where pages go. Returns the page count.
 */
export async function splitPdf(bytes, { deadline = Date.now() + 60_000, onPage }) {
  const source = await loadPdf(bytes, { deadline });

  countPageTreeLeaves(source);
  const pageCount = source.getPageCount();
  if (pageCount === 0) {
    throw new ZeroPagesError(
      "The PDF has no pages (its page tree is empty): there is nothing to split.",
    );
  }

  for (let index = 0; index < pageCount; index++) {
    checkDeadline(deadline, `splitting page ${index + 1} of ${pageCount}`);
    const single = await PDFDocument.create({ updateMetadata: false });
    const [page] = await single.copyPages(source, [index]);
    single.addPage(page);
    await onPage(index + 1, await single.save());
  }
  return { pageCount };
}
