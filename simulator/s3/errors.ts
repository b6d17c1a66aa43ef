/**
 * S3 errors as they reach the wire: the AWS error code as `name`, the HTTP
 * status, and the extra elements S3 puts in the XML error body.
 *
 * Codes, statuses and messages follow the list of error codes in
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */

/** An S3 error with AWS's code, HTTP status and optional extra XML fields. */
export class S3Error extends Error {
  readonly statusCode: number;
  /** Extra elements of the XML body, such as `Key`, `BucketName` or `UploadId`. */
  readonly details: Record<string, string>;
  /** Response headers that belong to the error, such as Content-Range for InvalidRange. */
  readonly headers: Record<string, string>;

  constructor(
    code: string,
    statusCode: number,
    message: string,
    details: Record<string, string> = {},
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = code;
    this.statusCode = statusCode;
    this.details = details;
    this.headers = options.headers ?? {};
  }
}

export function noSuchBucket(bucket: string): S3Error {
  return new S3Error("NoSuchBucket", 404, "The specified bucket does not exist", {
    BucketName: bucket,
  });
}

export function noSuchKey(key: string): S3Error {
  return new S3Error("NoSuchKey", 404, "The specified key does not exist.", { Key: key });
}

export function noSuchUpload(uploadId: string): S3Error {
  return new S3Error(
    "NoSuchUpload",
    404,
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    { UploadId: uploadId },
  );
}

export function bucketNotEmpty(bucket: string): S3Error {
  return new S3Error("BucketNotEmpty", 409, "The bucket you tried to delete is not empty", {
    BucketName: bucket,
  });
}

export function bucketAlreadyOwnedByYou(bucket: string): S3Error {
  return new S3Error(
    "BucketAlreadyOwnedByYou",
    409,
    "Your previous request to create the named bucket succeeded and you already own it.",
    { BucketName: bucket },
  );
}

export function invalidBucketName(bucket: string, reason: string): S3Error {
  return new S3Error("InvalidBucketName", 400, `The specified bucket is not valid: ${reason}`, {
    BucketName: bucket,
  });
}

export function keyTooLong(key: string, maxBytes: number): S3Error {
  return new S3Error("KeyTooLongError", 400, "Your key is too long", {
    Size: String(Buffer.byteLength(key)),
    MaxSizeAllowed: String(maxBytes),
  });
}

export function invalidRange(size: number, range: string): S3Error {
  return new S3Error(
    "InvalidRange",
    416,
    "The requested range is not satisfiable",
    { RangeRequested: range, ActualObjectSize: String(size) },
    { headers: { "content-range": `bytes */${size}` } },
  );
}

export function preconditionFailed(condition: string): S3Error {
  return new S3Error(
    "PreconditionFailed",
    412,
    "At least one of the pre-conditions you specified did not hold",
    { Condition: condition },
  );
}

export function badDigest(what: string): S3Error {
  return new S3Error(
    "BadDigest",
    400,
    `The ${what} you specified did not match the calculated checksum.`,
  );
}

export function invalidDigest(what: string, value: string): S3Error {
  return new S3Error("InvalidDigest", 400, `The ${what} you specified is not valid.`, {
    [what === "Content-MD5" ? "Content-MD5" : "Checksum"]: value,
  });
}

export function malformedXml(reason: string): S3Error {
  return new S3Error(
    "MalformedXML",
    400,
    `The XML you provided was not well-formed or did not validate against our published schema: ${reason}`,
  );
}

export function invalidArgument(message: string, name: string, value: string): S3Error {
  return new S3Error("InvalidArgument", 400, message, {
    ArgumentName: name,
    ArgumentValue: value,
  });
}

export function invalidRequest(message: string): S3Error {
  return new S3Error("InvalidRequest", 400, message);
}

export function incompleteBody(message: string): S3Error {
  return new S3Error("IncompleteBody", 400, message);
}

export function invalidPart(partNumber: number, reason: string): S3Error {
  return new S3Error(
    "InvalidPart",
    400,
    `One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag. Part ${partNumber}: ${reason}`,
    { PartNumber: String(partNumber) },
  );
}

export function invalidPartOrder(): S3Error {
  return new S3Error(
    "InvalidPartOrder",
    400,
    "The list of parts was not in ascending order. Parts must be ordered by part number.",
  );
}

export function entityTooSmall(partNumber: number, size: number, minSize: number): S3Error {
  return new S3Error(
    "EntityTooSmall",
    400,
    "Your proposed upload is smaller than the minimum allowed object size.",
    { PartNumber: String(partNumber), ProposedSize: String(size), MinSizeAllowed: String(minSize) },
  );
}

export function methodNotAllowed(method: string, resource: string): S3Error {
  return new S3Error(
    "MethodNotAllowed",
    405,
    "The specified method is not allowed against this resource.",
    { Method: method, ResourceType: resource },
  );
}

export function notImplemented(what: string): S3Error {
  return new S3Error(
    "NotImplemented",
    501,
    `A header or query you provided implies functionality that is not implemented: ${what}`,
  );
}
