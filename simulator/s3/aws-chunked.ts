import { Transform, type TransformCallback } from "node:stream";
import { incompleteBody, invalidArgument } from "./errors.ts";

// A chunk-size or trailer line longer than this is malformed: sizes are a few
// hex digits plus an optional `;chunk-signature=` of 64 hex digits.
const MAX_LINE_BYTES = 8 * 1024;

type DecoderState = "size" | "data" | "data-end" | "trailer" | "done";

/**
 * Decodes the `aws-chunked` content encoding that the SDK uses for streaming
 * uploads with a trailing checksum (`x-amz-content-sha256:
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER`) and for signed chunked uploads:
 *
 *     <hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n ... 0\r\n
 *     [x-amz-checksum-crc32:<base64>\r\n ...]\r\n
 *
 * It emits only the payload bytes and collects the trailing headers in
 * `trailers` (lower-case names).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 */
export class AwsChunkedDecoder extends Transform {
  /** Trailing headers after the final chunk, by lower-case name. */
  readonly trailers: Record<string, string> = {};
  #state: DecoderState = "size";
  #line: Buffer[] = [];
  #lineBytes = 0;
  #remaining = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#consume(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    // The SDK ends a body without a trailer right after `0\r\n`, so the
    // trailer section may be cut short; anything earlier is a truncated body.
    if (this.#state === "done" || (this.#state === "trailer" && this.#lineBytes === 0)) {
      callback();
      return;
    }
    callback(incompleteBody("The aws-chunked request body ended before its final chunk."));
  }

  #consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#state === "data") {
        const take = Math.min(this.#remaining, chunk.length - offset);
        this.push(chunk.subarray(offset, offset + take));
        this.#remaining -= take;
        offset += take;
        if (this.#remaining === 0) this.#state = "data-end";
        continue;
      }
      if (this.#state === "done") return;

      const newline = chunk.indexOf(10, offset);
      if (newline === -1) {
        this.#appendLine(chunk.subarray(offset));
        return;
      }
      this.#appendLine(chunk.subarray(offset, newline));
      offset = newline + 1;
      const line = Buffer.concat(this.#line).toString("latin1").replace(/\r$/, "");
      this.#line = [];
      this.#lineBytes = 0;
      this.#handleLine(line);
    }
  }

  #appendLine(part: Buffer): void {
    this.#lineBytes += part.length;
    if (this.#lineBytes > MAX_LINE_BYTES) {
      throw invalidArgument(
        "An aws-chunked line is longer than 8 KiB; the body is not valid aws-chunked encoding.",
        "Content-Encoding",
        "aws-chunked",
      );
    }
    this.#line.push(Buffer.from(part));
  }

  #handleLine(line: string): void {
    switch (this.#state) {
      case "size": {
        const sizeText = line.split(";")[0].trim();
        if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText)) {
          throw invalidArgument(
            `The aws-chunked chunk size "${sizeText}" is not a hexadecimal number.`,
            "Content-Encoding",
            "aws-chunked",
          );
        }
        const size = Number.parseInt(sizeText, 16);
        if (size === 0) {
          this.#state = "trailer";
        } else {
          this.#remaining = size;
          this.#state = "data";
        }
        return;
      }
      case "data-end":
        if (line !== "") {
          throw invalidArgument(
            "An aws-chunked chunk is longer than its declared size.",
            "Content-Encoding",
            "aws-chunked",
          );
        }
        this.#state = "size";
        return;
      case "trailer": {
        if (line === "") {
          this.#state = "done";
          return;
        }
        const colon = line.indexOf(":");
        if (colon <= 0) {
          throw invalidArgument(
            `The aws-chunked trailer line "${line}" has no "name:value" form.`,
            "x-amz-trailer",
            line,
          );
        }
        this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        return;
      }
      default:
        return;
    }
  }
}
