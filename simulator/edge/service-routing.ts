import type { IncomingHttpHeaders } from "node:http";

/** The APIs served on the edge port. */
export type ServiceName = "lambda" | "states" | "s3" | "logs" | "admin";

/** Path prefix under which each service's Fastify plugin is registered. */
export const SERVICE_PREFIX: Record<ServiceName, string> = {
  lambda: "/@lambda",
  states: "/@states",
  s3: "/@s3",
  logs: "/@logs",
  admin: "/_warmstate",
};

// Signing names in SigV4 credential scopes: `AKID/date/region/SERVICE/aws4_request`.
const SIGNING_NAMES: Record<string, ServiceName> = {
  lambda: "lambda",
  states: "states",
  s3: "s3",
  logs: "logs",
};

const SCOPE_PATTERN = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/;
const QUERY_SCOPE_PATTERN =
  /[?&]X-Amz-Credential=[^&]*?(?:%2F|\/)\d{8}(?:%2F|\/)[^&%/]+(?:%2F|\/)([^&%/]+)(?:%2F|\/)aws4_request/i;

/**
 * Picks the service of a request: from the SigV4 credential scope when the
 * request is signed (header or presigned query), from the path and
 * X-Amz-Target otherwise. Anything unrecognised goes to S3, whose
 * path-style URLs can be anything.
 */
export function detectService(url: string, headers: IncomingHttpHeaders): ServiceName {
  if (url.startsWith("/_warmstate/") || url === "/_warmstate") return "admin";

  const authorization = headers.authorization;
  const signed =
    (typeof authorization === "string" && SCOPE_PATTERN.exec(authorization)) ||
    QUERY_SCOPE_PATTERN.exec(url);
  if (signed) {
    const service = SIGNING_NAMES[signed[1]];
    if (service) return service;
  }

  const target = headers["x-amz-target"];
  if (typeof target === "string") {
    if (target.startsWith("AWSStepFunctions.")) return "states";
    if (target.startsWith("Logs_")) return "logs";
  }
  // Lambda's REST paths start with an API version date.
  if (
    /^\/(2015-03-31|2016-08-19|2017-03-31|2017-10-31|2018-10-31|2019-09-25|2019-09-30|2020-04-22|2021-10-31)\//.test(
      url,
    )
  ) {
    return "lambda";
  }
  return "s3";
}

/** Rewrites a request URL to the prefix of its service's plugin. */
export function routeUrl(url: string, headers: IncomingHttpHeaders): string {
  const service = detectService(url, headers);
  if (service === "admin") return url;
  return SERVICE_PREFIX[service] + (url.startsWith("/") ? url : `/${url}`);
}
