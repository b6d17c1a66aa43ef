// @ts-check
/**
 * HTTP client of the Runtime API, over one keep-alive connection, with
 * node:http only because the sandbox has nothing else.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 */
import http from "node:http";

const ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type";

/**
 * One event from `GET /runtime/invocation/next`.
 * @typedef {{ body: string, headers: http.IncomingHttpHeaders }} NextInvocation
 */

export class RuntimeApiClient {
  /** @param {string} endpoint `host:port`, from AWS_LAMBDA_RUNTIME_API. */
  constructor(endpoint) {
    const colon = endpoint.lastIndexOf(":");
    if (colon <= 0) {
      throw new Error(
        `AWS_LAMBDA_RUNTIME_API is "${endpoint}"; expected host:port, for example 127.0.0.1:9001.`,
      );
    }
    this.hostname = endpoint.slice(0, colon);
    this.port = Number(endpoint.slice(colon + 1));
    // One socket: the runtime makes one call at a time, and a single
    // connection is what the Runtime API server ties to this process.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  /**
   * Long-polls for the next event. There is no timeout on purpose: the
   * request waits as long as the environment stays idle.
   * @returns {Promise<NextInvocation>}
   */
  next() {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          hostname: this.hostname,
          port: this.port,
          path: "/2018-06-01/runtime/invocation/next",
          method: "GET",
          agent: this.agent,
        },
        (response) => {
          /** @type {Buffer[]} */
          const chunks = [];
          response.on("data", (chunk) => chunks.push(chunk));
          response.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8");
            if (response.statusCode !== 200) {
              reject(new Error(`Runtime API next returned ${response.statusCode}: ${body}`));
              return;
            }
            resolve({ body, headers: response.headers });
          });
          response.on("error", reject);
        },
      );
      request.on("error", reject);
      request.end();
    });
  }

  /**
   * Posts a handler's result.
   * @param {string} requestId
   * @param {string} body JSON text
   */
  postResponse(requestId, body) {
    return this.#post(
      `/2018-06-01/runtime/invocation/${encodeURIComponent(requestId)}/response`,
      body,
      {},
    );
  }

  /**
   * Posts a handler's error.
   * @param {string} requestId
   * @param {{ errorType: string }} errorBody
   */
  postError(requestId, errorBody) {
    return this.#post(
      `/2018-06-01/runtime/invocation/${encodeURIComponent(requestId)}/error`,
      JSON.stringify(errorBody),
      { [ERROR_TYPE_HEADER]: errorBody.errorType },
    );
  }

  /**
   * Posts an error raised before the first `next`.
   * @param {{ errorType: string }} errorBody
   */
  postInitError(errorBody) {
    return this.#post("/2018-06-01/runtime/init/error", JSON.stringify(errorBody), {
      [ERROR_TYPE_HEADER]: errorBody.errorType,
    });
  }

  /**
   * Resolves with the status code; 4xx statuses are not failures here, since
   * AWS's runtime moves on to the next event after a 413 or 403 too.
   * @param {string} path
   * @param {string} body
   * @param {Record<string, string>} headers
   * @returns {Promise<number>}
   */
  #post(path, body, headers) {
    const payload = Buffer.from(body, "utf8");
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          hostname: this.hostname,
          port: this.port,
          path,
          method: "POST",
          agent: this.agent,
          headers: {
            "Content-Type": "application/json",
            "Content-Length": payload.length,
            ...headers,
          },
        },
        (response) => {
          response.resume();
          response.on("end", () => resolve(response.statusCode ?? 0));
          response.on("error", reject);
        },
      );
      request.on("error", reject);
      request.end(payload);
    });
  }
}
