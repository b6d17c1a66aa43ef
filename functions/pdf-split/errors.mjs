/**
 * Errors that pdf-split throws for bad input. The Node.js Lambda runtime
 * reports an uncaught error's `name` as `errorType`, which is what Step
 * Functions Retry and Catch match on, so each cause gets its own name.
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-exceptions.html
 *
 * pdf-analyze keeps its own copy of the shared names, because each function
 * folder deploys on its own and cannot import from a sibling folder.
 */

/** Base class: sets `name` from the subclass so errorType names the cause. */
export class PdfInputError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The object has zero bytes. */
export class EmptyPDFError extends PdfInputError {}

/** The bytes are not a PDF, or its structure cannot be parsed. */
export class InvalidPDFError extends PdfInputError {}

/** The file starts like a PDF but ends before its `%%EOF` marker, as a cut-off upload does. */
export class TruncatedPDFError extends PdfInputError {}

/** The file is encrypted; pdf-lib 1.17 cannot decrypt, even with an empty user password. */
export class EncryptedPDFError extends PdfInputError {}

/** The page tree contains no pages. */
export class ZeroPagesError extends PdfInputError {}

/** Parsing or splitting did not finish within the invocation's time budget. */
export class TimeBudgetExceededError extends PdfInputError {}

/** The event is missing a field or has one of the wrong type. */
export class InvalidEventError extends Error {
  constructor(message) {
    super(message);
    this.name = "InvalidEventError";
  }
}
