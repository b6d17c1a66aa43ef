import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { z } from "zod";
import type { LogStore, StoredLogEvent } from "./log-store.ts";

/** Options of {@link logsApiPlugin}. */
export interface LogsApiOptions {
  logs: LogStore;
  /** Names of deployed functions, whose log groups exist even before they log. */
  functionNames?: () => string[];
  /** Region and account in log group and stream ARNs (defaults us-east-1 and 000000000000). */
  region?: string;
  accountId?: string;
}

/** An error of the CloudWatch Logs API (AWS JSON 1.1: status 400, `__type` in the body). */
class LogsApiError extends Error {
  constructor(
    name: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = name;
  }
}

const LOG_GROUP_PREFIX = "/aws/lambda/";
const TARGET_PREFIX = "Logs_20140328.";

// Page sizes of the CloudWatch Logs API: FilterLogEvents and GetLogEvents
// return at most 10,000 events, DescribeLogStreams at most 50 streams.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
const MAX_EVENTS = 10_000;
const MAX_STREAMS = 50;

const filterLogEventsSchema = z.looseObject({
  logGroupName: z.string().optional(),
  logGroupIdentifier: z.string().optional(),
  logStreamNames: z.array(z.string()).min(1).max(100).optional(),
  logStreamNamePrefix: z.string().optional(),
  startTime: z.number().int().optional(),
  endTime: z.number().int().optional(),
  filterPattern: z.string().max(1024).optional(),
  nextToken: z.string().optional(),
  limit: z.number().int().min(1).max(MAX_EVENTS).optional(),
});

const getLogEventsSchema = z.looseObject({
  logGroupName: z.string().optional(),
  logGroupIdentifier: z.string().optional(),
  logStreamName: z.string(),
  startTime: z.number().int().optional(),
  endTime: z.number().int().optional(),
  nextToken: z.string().optional(),
  limit: z.number().int().min(1).max(MAX_EVENTS).optional(),
  startFromHead: z.boolean().optional(),
});

const describeLogStreamsSchema = z.looseObject({
  logGroupName: z.string().optional(),
  logGroupIdentifier: z.string().optional(),
  logStreamNamePrefix: z.string().optional(),
  orderBy: z.enum(["LogStreamName", "LastEventTime"]).optional(),
  descending: z.boolean().optional(),
  nextToken: z.string().optional(),
  limit: z.number().int().min(1).max(MAX_STREAMS).optional(),
});

const describeLogGroupsSchema = z.looseObject({
  logGroupNamePrefix: z.string().optional(),
  limit: z.number().int().min(1).max(MAX_STREAMS).optional(),
});

function parse<Schema extends z.ZodType>(schema: Schema, value: unknown): z.infer<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new LogsApiError(
    "InvalidParameterException",
    `Invalid value for ${issue.path.join(".") || "request"}: ${issue.message}.`,
  );
}

function sendError(reply: FastifyReply, error: LogsApiError): FastifyReply {
  return reply
    .status(error.statusCode)
    .header("content-type", "application/x-amz-json-1.1")
    .header("x-amzn-ErrorType", error.name)
    .send(JSON.stringify({ __type: error.name, message: error.message }));
}

function decodeToken(token: string | undefined): number | undefined {
  if (!token) return undefined;
  const sequence = Number(token.replace(/^[fb]\//, ""));
  if (!Number.isInteger(sequence) || sequence < 0) {
    throw new LogsApiError(
      "InvalidParameterException",
      `Invalid value for nextToken: ${token} is not a token this API returned.`,
    );
  }
  return sequence;
}

/**
 * Serves the CloudWatch Logs API from the simulator's log store, registered under
 * SERVICE_PREFIX.logs: FilterLogEvents, GetLogEvents, DescribeLogStreams and
 * DescribeLogGroups on the `/aws/lambda/<function>` groups.
 */
export const logsApiPlugin: FastifyPluginAsync<LogsApiOptions> = async (app, options) => {
  const logs = options.logs;
  const arnPrefix = `arn:aws:logs:${options.region ?? "us-east-1"}:${options.accountId ?? "000000000000"}:log-group:`;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => done(null, body));

  const groupFunction = (body: { logGroupName?: string; logGroupIdentifier?: string }): string => {
    const group =
      body.logGroupName ??
      body.logGroupIdentifier?.replace(/^arn:.*:log-group:/, "").replace(/:\*$/, "");
    if (!group)
      throw new LogsApiError(
        "InvalidParameterException",
        "Missing logGroupName: name the log group, /aws/lambda/FUNCTION.",
      );
    const functionName = group.startsWith(LOG_GROUP_PREFIX)
      ? group.slice(LOG_GROUP_PREFIX.length)
      : undefined;
    const known =
      functionName &&
      (logs.functionNames().includes(functionName) ||
        options.functionNames?.().includes(functionName));
    if (!functionName || !known)
      throw new LogsApiError(
        "ResourceNotFoundException",
        "The specified log group does not exist.",
      );
    return functionName;
  };

  const toOutput = (event: StoredLogEvent) => ({
    logStreamName: event.logStreamName,
    timestamp: event.timestamp,
    message: `${event.message}\n`,
    ingestionTime: event.ingestionTime,
    eventId: String(event.sequence),
  });

  const operations: Record<string, (body: unknown) => unknown> = {
    FilterLogEvents: (raw) => {
      const body = parse(filterLogEventsSchema, raw);
      const functionName = groupFunction(body);
      const limit = body.limit ?? MAX_EVENTS;
      const events = logs.query({
        functionName,
        logStreamNames: body.logStreamNames,
        logStreamNamePrefix: body.logStreamNamePrefix,
        startTime: body.startTime,
        endTime: body.endTime,
        filterPattern: body.filterPattern,
        afterSequence: decodeToken(body.nextToken),
        limit: limit + 1,
      });
      const page = events.slice(0, limit);
      return {
        events: page.map(toOutput),
        searchedLogStreams: [],
        ...(events.length > limit ? { nextToken: String(page.at(-1)?.sequence) } : {}),
      };
    },

    GetLogEvents: (raw) => {
      const body = parse(getLogEventsSchema, raw);
      const functionName = groupFunction(body);
      if (
        !logs.streams(functionName).some((stream) => stream.logStreamName === body.logStreamName)
      ) {
        throw new LogsApiError(
          "ResourceNotFoundException",
          "The specified log stream does not exist.",
        );
      }
      const limit = body.limit ?? MAX_EVENTS;
      const all = logs.query({
        functionName,
        logStreamNames: [body.logStreamName],
        startTime: body.startTime,
        endTime: body.endTime,
        afterSequence: body.nextToken?.startsWith("b/") ? undefined : decodeToken(body.nextToken),
      });
      const before = body.nextToken?.startsWith("b/") ? decodeToken(body.nextToken) : undefined;
      const candidates =
        before === undefined ? all : all.filter((event) => event.sequence < before);
      // Without a token, CloudWatch returns the newest events unless startFromHead is set.
      const fromHead = body.startFromHead === true || body.nextToken?.startsWith("f/");
      const page = fromHead ? candidates.slice(0, limit) : candidates.slice(-limit);
      const last = page.at(-1)?.sequence ?? decodeToken(body.nextToken) ?? 0;
      const first = page[0]?.sequence ?? last + 1;
      return {
        events: page.map((event) => ({
          timestamp: event.timestamp,
          message: `${event.message}\n`,
          ingestionTime: event.ingestionTime,
        })),
        nextForwardToken: `f/${last}`,
        nextBackwardToken: `b/${first}`,
      };
    },

    DescribeLogStreams: (raw) => {
      const body = parse(describeLogStreamsSchema, raw);
      const functionName = groupFunction(body);
      let streams = logs
        .streams(functionName)
        .filter(
          (stream) =>
            !body.logStreamNamePrefix || stream.logStreamName.startsWith(body.logStreamNamePrefix),
        );
      if (body.orderBy === "LastEventTime")
        streams.sort((a, b) => (a.lastEventTimestamp ?? 0) - (b.lastEventTimestamp ?? 0));
      else streams.sort((a, b) => a.logStreamName.localeCompare(b.logStreamName));
      if (body.descending) streams.reverse();

      const start = decodeToken(body.nextToken) ?? 0;
      const limit = body.limit ?? MAX_STREAMS;
      const page = streams.slice(start, start + limit);
      streams = page;
      return {
        logStreams: streams.map((stream) => ({
          logStreamName: stream.logStreamName,
          creationTime: stream.creationTime,
          firstEventTimestamp: stream.firstEventTimestamp,
          lastEventTimestamp: stream.lastEventTimestamp,
          lastIngestionTime: stream.lastIngestionTime,
          arn: `${arnPrefix}${LOG_GROUP_PREFIX}${functionName}:log-stream:${stream.logStreamName}`,
          storedBytes: stream.storedBytes,
        })),
        ...(start + limit < logs.streams(functionName).length
          ? { nextToken: String(start + limit) }
          : {}),
      };
    },

    DescribeLogGroups: (raw) => {
      const body = parse(describeLogGroupsSchema, raw);
      const names = new Set([...logs.functionNames(), ...(options.functionNames?.() ?? [])]);
      const groups = [...names]
        .sort()
        .map((name) => `${LOG_GROUP_PREFIX}${name}`)
        .filter((group) => !body.logGroupNamePrefix || group.startsWith(body.logGroupNamePrefix))
        .slice(0, body.limit ?? MAX_STREAMS);
      return {
        logGroups: groups.map((group) => ({
          logGroupName: group,
          arn: `${arnPrefix}${group}:*`,
          creationTime: 0,
          storedBytes: 0,
        })),
      };
    },
  };

  app.post("/", async (request, reply) => {
    try {
      const target = String(request.headers["x-amz-target"] ?? "");
      const operation = target.startsWith(TARGET_PREFIX)
        ? operations[target.slice(TARGET_PREFIX.length)]
        : undefined;
      if (!operation) {
        throw new LogsApiError(
          "UnknownOperationException",
          `Unsupported X-Amz-Target ${JSON.stringify(target)}: the simulator serves FilterLogEvents, GetLogEvents, DescribeLogStreams and DescribeLogGroups.`,
        );
      }
      let body: unknown = {};
      const text = typeof request.body === "string" ? request.body : "";
      if (text.trim() !== "") {
        try {
          body = JSON.parse(text);
        } catch (error) {
          throw new LogsApiError(
            "SerializationException",
            `Could not parse the request body as JSON: ${(error as Error).message}.`,
          );
        }
      }
      const result = operation(body);
      return reply
        .header("content-type", "application/x-amz-json-1.1")
        .send(JSON.stringify(result));
    } catch (error) {
      if (error instanceof LogsApiError) return sendError(reply, error);
      request.log.error({ err: error }, "logs API request failed");
      return sendError(
        reply,
        new LogsApiError(
          "ServiceUnavailableException",
          `The simulator failed to handle the request: ${(error as Error).message}`,
          500,
        ),
      );
    }
  });
};
