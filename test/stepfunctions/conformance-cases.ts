/**
 * Conformance cases: a definition, an input and what AWS documents as the
 * result. Every case cites the AWS page that fixes its expected value.
 */

export interface ConformanceCase {
  name: string;
  /** The AWS documentation page that fixes the expected result. */
  doc: string;
  definition: Record<string, unknown>;
  input?: unknown;
  status: "SUCCEEDED" | "FAILED" | "TIMED_OUT";
  /** Expected output, or a function that asserts on it. */
  output?: unknown | ((output: unknown) => void);
  error?: string;
  /** Exact cause, or a pattern it must match. */
  cause?: string | RegExp;
}

const DOCS = "https://docs.aws.amazon.com/step-functions/latest/dg";
const PASS = `${DOCS}/state-pass.html`;
const CHOICE = `${DOCS}/state-choice.html`;
const WAIT = `${DOCS}/state-wait.html`;
const SUCCEED = `${DOCS}/state-succeed.html`;
const FAIL = `${DOCS}/state-fail.html`;
const PARALLEL = `${DOCS}/state-parallel.html`;
const MAP = `${DOCS}/state-map-inline.html`;
const INTRINSICS = `${DOCS}/intrinsic-functions.html`;
const FILTERING = `${DOCS}/concepts-input-output-filtering.html`;
const RESULT_PATH = `${DOCS}/input-output-resultpath.html`;
const INPUT_PATH = `${DOCS}/input-output-inputpath-params.html`;
const CONTEXT = `${DOCS}/input-output-contextobject.html`;
const ITEM_SELECTOR = `${DOCS}/input-output-itemselector.html`;
const ERRORS = `${DOCS}/concepts-error-handling.html`;
const LAMBDA = `${DOCS}/connect-lambda.html`;
const TASK = `${DOCS}/state-task.html`;
const JSONATA = `${DOCS}/transforming-data.html`;
const VARIABLES = `${DOCS}/workflow-variables.html`;
const QUOTAS = `${DOCS}/service-quotas.html`;
const PATHS = `${DOCS}/amazon-states-language-paths.html`;

export const LAMBDA_ARN = (name: string) =>
  `arn:aws:lambda:us-east-1:123456789012:function:${name}`;

/** Builds a machine of one state that ends the execution. */
function single(state: Record<string, unknown>): Record<string, unknown> {
  const terminal = state.Type === "Succeed" || state.Type === "Fail" || state.Type === "Choice";
  return { StartAt: "S", States: { S: terminal ? state : { End: true, ...state } } };
}

/** Builds a case whose Pass state evaluates `expression` into field `r`. */
function intrinsic(
  name: string,
  expression: string,
  input: unknown,
  expected: unknown,
  doc = INTRINSICS,
): ConformanceCase {
  return {
    name,
    doc,
    definition: single({ Type: "Pass", Parameters: { "r.$": expression } }),
    input,
    status: "SUCCEEDED",
    output: { r: expected },
  };
}

function intrinsicFails(
  name: string,
  expression: string,
  input: unknown,
  cause: RegExp,
): ConformanceCase {
  return {
    name,
    doc: INTRINSICS,
    definition: single({ Type: "Pass", Parameters: { "r.$": expression } }),
    input,
    status: "FAILED",
    error: "States.Runtime",
    cause,
  };
}

/** Builds a case whose Choice rule leads to "yes" and whose Default leads to "no". */
function choice(
  name: string,
  rule: Record<string, unknown>,
  input: unknown,
  matches: boolean,
): ConformanceCase {
  return {
    name,
    doc: CHOICE,
    definition: {
      StartAt: "C",
      States: {
        C: { Type: "Choice", Choices: [{ ...rule, Next: "Yes" }], Default: "No" },
        Yes: { Type: "Pass", Result: "yes", End: true },
        No: { Type: "Pass", Result: "no", End: true },
      },
    },
    input,
    status: "SUCCEEDED",
    output: matches ? "yes" : "no",
  };
}

const T1 = "2024-01-01T00:00:00Z";
const T2 = "2024-06-01T12:30:00.500Z";

const passCases: ConformanceCase[] = [
  {
    name: "Pass Result replaces the input",
    doc: PASS,
    definition: single({ Type: "Pass", Result: { x: 1 } }),
    input: { a: 1 },
    status: "SUCCEEDED",
    output: { x: 1 },
  },
  {
    name: "Pass without Result passes input through",
    doc: PASS,
    definition: single({ Type: "Pass" }),
    input: { a: 1 },
    status: "SUCCEEDED",
    output: { a: 1 },
  },
  {
    name: "Pass ResultPath adds the result to the input",
    doc: RESULT_PATH,
    definition: single({ Type: "Pass", Result: "hi", ResultPath: "$.greeting" }),
    input: { a: 1 },
    status: "SUCCEEDED",
    output: { a: 1, greeting: "hi" },
  },
  {
    name: "Pass ResultPath null discards the result",
    doc: RESULT_PATH,
    definition: single({ Type: "Pass", Result: "hi", ResultPath: null }),
    input: { a: 1 },
    status: "SUCCEEDED",
    output: { a: 1 },
  },
  {
    name: "Pass ResultPath creates nested objects",
    doc: RESULT_PATH,
    definition: single({ Type: "Pass", Result: 5, ResultPath: "$.x.y.z" }),
    input: { a: 1 },
    status: "SUCCEEDED",
    output: { a: 1, x: { y: { z: 5 } } },
  },
  {
    name: "Pass ResultPath overwrites an existing field",
    doc: RESULT_PATH,
    definition: single({ Type: "Pass", Result: 2, ResultPath: "$.a" }),
    input: { a: 1, b: 1 },
    status: "SUCCEEDED",
    output: { a: 2, b: 1 },
  },
  {
    name: "Pass Parameters with static values",
    doc: INPUT_PATH,
    definition: single({ Type: "Pass", Parameters: { k: "v", n: [1, 2] } }),
    input: {},
    status: "SUCCEEDED",
    output: { k: "v", n: [1, 2] },
  },
  {
    name: "Pass Parameters select input fields",
    doc: INPUT_PATH,
    definition: single({ Type: "Pass", Parameters: { "name.$": "$.who.name", fixed: true } }),
    input: { who: { name: "Ann" } },
    status: "SUCCEEDED",
    output: { name: "Ann", fixed: true },
  },
  {
    name: "Pass Parameters nested templates",
    doc: INPUT_PATH,
    definition: single({ Type: "Pass", Parameters: { outer: { "inner.$": "$.v" } } }),
    input: { v: 3 },
    status: "SUCCEEDED",
    output: { outer: { inner: 3 } },
  },
  {
    name: "Pass InputPath selects part of the input",
    doc: INPUT_PATH,
    definition: single({ Type: "Pass", InputPath: "$.inner" }),
    input: { inner: { v: 1 }, other: 2 },
    status: "SUCCEEDED",
    output: { v: 1 },
  },
  {
    name: "Pass InputPath null gives an empty object",
    doc: FILTERING,
    definition: single({ Type: "Pass", InputPath: null }),
    input: { a: 1 },
    status: "SUCCEEDED",
    output: {},
  },
  {
    name: "Pass OutputPath selects part of the output",
    doc: FILTERING,
    definition: single({ Type: "Pass", OutputPath: "$.keep" }),
    input: { keep: [1], drop: 2 },
    status: "SUCCEEDED",
    output: [1],
  },
  {
    name: "Pass OutputPath null gives an empty object",
    doc: FILTERING,
    definition: single({ Type: "Pass", OutputPath: null }),
    input: { a: 1 },
    status: "SUCCEEDED",
    output: {},
  },
  {
    name: "Pass Parameters path missing fails with States.Runtime",
    doc: ERRORS,
    definition: single({ Type: "Pass", Parameters: { "x.$": "$.missing" } }),
    input: { a: 1 },
    status: "FAILED",
    error: "States.Runtime",
    cause:
      "An error occurred while executing the state 'S' (entered at the event id #2). The JSONPath '$.missing' specified for the field 'x.$' could not be found in the input '{\"a\":1}'",
  },
  {
    name: "Pass InputPath missing fails with States.Runtime",
    doc: ERRORS,
    definition: single({ Type: "Pass", InputPath: "$.missing" }),
    input: { a: 1 },
    status: "FAILED",
    error: "States.Runtime",
    cause:
      "An error occurred while executing the state 'S' (entered at the event id #2). Invalid path '$.missing' : No results for path: $['missing']",
  },
  {
    name: "Pass reads the context object State.Name",
    doc: CONTEXT,
    definition: single({ Type: "Pass", Parameters: { "state.$": "$$.State.Name" } }),
    status: "SUCCEEDED",
    output: { state: "S" },
  },
  {
    name: "Pass reads the execution input from context",
    doc: CONTEXT,
    definition: single({ Type: "Pass", Parameters: { "original.$": "$$.Execution.Input.v" } }),
    input: { v: 9 },
    status: "SUCCEEDED",
    output: { original: 9 },
  },
  {
    name: "Pass context RetryCount starts at 0",
    doc: CONTEXT,
    definition: single({ Type: "Pass", Parameters: { "n.$": "$$.State.RetryCount" } }),
    status: "SUCCEEDED",
    output: { n: 0 },
  },
  {
    name: "Pass context RedriveCount is 0 before a redrive",
    doc: CONTEXT,
    definition: single({ Type: "Pass", Parameters: { "n.$": "$$.Execution.RedriveCount" } }),
    status: "SUCCEEDED",
    output: { n: 0 },
  },
  {
    name: "Pass context carries execution and machine ids",
    doc: CONTEXT,
    definition: single({
      Type: "Pass",
      Parameters: {
        "id.$": "$$.Execution.Id",
        "machine.$": "$$.StateMachine.Id",
        "entered.$": "$$.State.EnteredTime",
      },
    }),
    status: "SUCCEEDED",
    output: (output: unknown) => {
      const value = output as { id: string; machine: string; entered: string };
      if (!value.id.startsWith("arn:aws:states:us-east-1:123456789012:execution:"))
        throw new Error(`bad execution id ${value.id}`);
      if (!value.machine.startsWith("arn:aws:states:us-east-1:123456789012:stateMachine:"))
        throw new Error(`bad machine id ${value.machine}`);
      if (Number.isNaN(Date.parse(value.entered)))
        throw new Error(`bad EnteredTime ${value.entered}`);
    },
  },
  {
    name: "JSONPath wildcard selects every element",
    doc: PATHS,
    definition: single({ Type: "Pass", Parameters: { "names.$": "$.people[*].name" } }),
    input: { people: [{ name: "a" }, { name: "b" }] },
    status: "SUCCEEDED",
    output: { names: ["a", "b"] },
  },
  {
    name: "JSONPath filter expression",
    doc: PATHS,
    definition: single({ Type: "Pass", Parameters: { "cheap.$": "$.items[?(@.price < 10)].id" } }),
    input: {
      items: [
        { id: 1, price: 5 },
        { id: 2, price: 15 },
      ],
    },
    status: "SUCCEEDED",
    output: { cheap: [1] },
  },
  {
    name: "JSONPath array slice",
    doc: PATHS,
    definition: single({ Type: "Pass", Parameters: { "first.$": "$.list[0:2]" } }),
    input: { list: [1, 2, 3] },
    status: "SUCCEEDED",
    output: { first: [1, 2] },
  },
  {
    name: "JSONPath bracket notation",
    doc: PATHS,
    definition: single({ Type: "Pass", Parameters: { "v.$": "$['odd key'][1]" } }),
    input: { "odd key": [0, 7] },
    status: "SUCCEEDED",
    output: { v: 7 },
  },
];

const comparisonCases: ConformanceCase[] = [
  choice("StringEquals matches", { Variable: "$.s", StringEquals: "abc" }, { s: "abc" }, true),
  choice("StringEquals differs", { Variable: "$.s", StringEquals: "abc" }, { s: "abd" }, false),
  choice(
    "StringEquals on a number is false",
    { Variable: "$.s", StringEquals: "1" },
    { s: 1 },
    false,
  ),
  choice(
    "StringEqualsPath matches",
    { Variable: "$.s", StringEqualsPath: "$.t" },
    { s: "x", t: "x" },
    true,
  ),
  choice("StringLessThan", { Variable: "$.s", StringLessThan: "b" }, { s: "a" }, true),
  choice(
    "StringLessThanPath",
    { Variable: "$.s", StringLessThanPath: "$.t" },
    { s: "b", t: "a" },
    false,
  ),
  choice("StringGreaterThan", { Variable: "$.s", StringGreaterThan: "a" }, { s: "b" }, true),
  choice(
    "StringGreaterThanPath",
    { Variable: "$.s", StringGreaterThanPath: "$.t" },
    { s: "b", t: "a" },
    true,
  ),
  choice(
    "StringLessThanEquals equal",
    { Variable: "$.s", StringLessThanEquals: "a" },
    { s: "a" },
    true,
  ),
  choice(
    "StringLessThanEqualsPath",
    { Variable: "$.s", StringLessThanEqualsPath: "$.t" },
    { s: "c", t: "b" },
    false,
  ),
  choice(
    "StringGreaterThanEquals equal",
    { Variable: "$.s", StringGreaterThanEquals: "a" },
    { s: "a" },
    true,
  ),
  choice(
    "StringGreaterThanEqualsPath",
    { Variable: "$.s", StringGreaterThanEqualsPath: "$.t" },
    { s: "a", t: "b" },
    false,
  ),
  choice(
    "StringMatches with a wildcard",
    { Variable: "$.s", StringMatches: "log-*.txt" },
    { s: "log-2024.txt" },
    true,
  ),
  choice(
    "StringMatches without match",
    { Variable: "$.s", StringMatches: "log-*.txt" },
    { s: "log-2024.csv" },
    false,
  ),
  choice(
    "StringMatches escaped star is literal",
    { Variable: "$.s", StringMatches: "a\\*b" },
    { s: "a*b" },
    true,
  ),
  choice(
    "StringMatches escaped star rejects others",
    { Variable: "$.s", StringMatches: "a\\*b" },
    { s: "axb" },
    false,
  ),
  choice("NumericEquals", { Variable: "$.n", NumericEquals: 5 }, { n: 5 }, true),
  choice(
    "NumericEquals on a string is false",
    { Variable: "$.n", NumericEquals: 5 },
    { n: "5" },
    false,
  ),
  choice(
    "NumericEqualsPath",
    { Variable: "$.n", NumericEqualsPath: "$.m" },
    { n: 2.5, m: 2.5 },
    true,
  ),
  choice("NumericLessThan", { Variable: "$.n", NumericLessThan: 5 }, { n: 4 }, true),
  choice(
    "NumericLessThanPath",
    { Variable: "$.n", NumericLessThanPath: "$.m" },
    { n: 4, m: 3 },
    false,
  ),
  choice("NumericGreaterThan", { Variable: "$.n", NumericGreaterThan: 5 }, { n: 6 }, true),
  choice(
    "NumericGreaterThanPath",
    { Variable: "$.n", NumericGreaterThanPath: "$.m" },
    { n: 6, m: 7 },
    false,
  ),
  choice("NumericLessThanEquals", { Variable: "$.n", NumericLessThanEquals: 5 }, { n: 5 }, true),
  choice(
    "NumericLessThanEqualsPath",
    { Variable: "$.n", NumericLessThanEqualsPath: "$.m" },
    { n: 5, m: 5 },
    true,
  ),
  choice(
    "NumericGreaterThanEquals",
    { Variable: "$.n", NumericGreaterThanEquals: 5 },
    { n: 4 },
    false,
  ),
  choice(
    "NumericGreaterThanEqualsPath",
    { Variable: "$.n", NumericGreaterThanEqualsPath: "$.m" },
    { n: 5, m: 4 },
    true,
  ),
  choice("BooleanEquals", { Variable: "$.b", BooleanEquals: true }, { b: true }, true),
  choice(
    "BooleanEquals on a string is false",
    { Variable: "$.b", BooleanEquals: true },
    { b: "true" },
    false,
  ),
  choice(
    "BooleanEqualsPath",
    { Variable: "$.b", BooleanEqualsPath: "$.c" },
    { b: false, c: false },
    true,
  ),
  choice("TimestampEquals", { Variable: "$.t", TimestampEquals: T1 }, { t: T1 }, true),
  choice(
    "TimestampEqualsPath",
    { Variable: "$.t", TimestampEqualsPath: "$.u" },
    { t: T1, u: T2 },
    false,
  ),
  choice("TimestampLessThan", { Variable: "$.t", TimestampLessThan: T2 }, { t: T1 }, true),
  choice(
    "TimestampLessThanPath",
    { Variable: "$.t", TimestampLessThanPath: "$.u" },
    { t: T2, u: T1 },
    false,
  ),
  choice("TimestampGreaterThan", { Variable: "$.t", TimestampGreaterThan: T1 }, { t: T2 }, true),
  choice(
    "TimestampGreaterThanPath",
    { Variable: "$.t", TimestampGreaterThanPath: "$.u" },
    { t: T2, u: T1 },
    true,
  ),
  choice(
    "TimestampLessThanEquals",
    { Variable: "$.t", TimestampLessThanEquals: T1 },
    { t: T1 },
    true,
  ),
  choice(
    "TimestampLessThanEqualsPath",
    { Variable: "$.t", TimestampLessThanEqualsPath: "$.u" },
    { t: T2, u: T1 },
    false,
  ),
  choice(
    "TimestampGreaterThanEquals",
    { Variable: "$.t", TimestampGreaterThanEquals: T2 },
    { t: T1 },
    false,
  ),
  choice(
    "TimestampGreaterThanEqualsPath",
    { Variable: "$.t", TimestampGreaterThanEqualsPath: "$.u" },
    { t: T2, u: T2 },
    true,
  ),
  choice(
    "Timestamp comparison of a non-timestamp is false",
    { Variable: "$.t", TimestampEquals: T1 },
    { t: "yesterday" },
    false,
  ),
  choice("IsNull true", { Variable: "$.v", IsNull: true }, { v: null }, true),
  choice("IsNull false on a value", { Variable: "$.v", IsNull: true }, { v: 0 }, false),
  choice("IsPresent true", { Variable: "$.v", IsPresent: true }, { v: 1 }, true),
  choice("IsPresent false on a missing field", { Variable: "$.v", IsPresent: true }, {}, false),
  choice(
    "IsPresent false matches a missing field",
    { Variable: "$.v", IsPresent: false },
    {},
    true,
  ),
  choice("IsNumeric", { Variable: "$.v", IsNumeric: true }, { v: 1.5 }, true),
  choice("IsString", { Variable: "$.v", IsString: true }, { v: 1 }, false),
  choice("IsBoolean", { Variable: "$.v", IsBoolean: true }, { v: false }, true),
  choice("IsTimestamp", { Variable: "$.v", IsTimestamp: true }, { v: T2 }, true),
  choice(
    "IsTimestamp false for a date without time",
    { Variable: "$.v", IsTimestamp: true },
    { v: "2024-01-01" },
    false,
  ),
  choice(
    "And needs every rule",
    {
      And: [
        { Variable: "$.a", NumericGreaterThan: 1 },
        { Variable: "$.b", StringEquals: "x" },
      ],
    },
    { a: 2, b: "y" },
    false,
  ),
  choice(
    "And matches when all match",
    {
      And: [
        { Variable: "$.a", NumericGreaterThan: 1 },
        { Variable: "$.b", StringEquals: "x" },
      ],
    },
    { a: 2, b: "x" },
    true,
  ),
  choice(
    "Or needs one rule",
    {
      Or: [
        { Variable: "$.a", NumericEquals: 1 },
        { Variable: "$.a", NumericEquals: 2 },
      ],
    },
    { a: 2 },
    true,
  ),
  choice("Not inverts a rule", { Not: { Variable: "$.a", StringEquals: "x" } }, { a: "y" }, true),
  choice(
    "Nested And inside Not",
    {
      Not: {
        And: [
          { Variable: "$.a", IsPresent: true },
          { Variable: "$.a", IsNull: true },
        ],
      },
    },
    { a: null },
    false,
  ),
  {
    name: "Choice takes the first matching rule",
    doc: CHOICE,
    definition: {
      StartAt: "C",
      States: {
        C: {
          Type: "Choice",
          Choices: [
            { Variable: "$.n", NumericGreaterThan: 0, Next: "A" },
            { Variable: "$.n", NumericGreaterThan: 1, Next: "B" },
          ],
        },
        A: { Type: "Pass", Result: "A", End: true },
        B: { Type: "Pass", Result: "B", End: true },
      },
    },
    input: { n: 5 },
    status: "SUCCEEDED",
    output: "A",
  },
  {
    name: "Choice without match or Default fails",
    doc: ERRORS,
    definition: {
      StartAt: "C",
      States: {
        C: { Type: "Choice", Choices: [{ Variable: "$.n", NumericEquals: 1, Next: "A" }] },
        A: { Type: "Succeed" },
      },
    },
    input: { n: 2 },
    status: "FAILED",
    error: "States.NoChoiceMatched",
  },
  {
    name: "Choice on a missing variable fails with States.Runtime",
    doc: ERRORS,
    definition: {
      StartAt: "C",
      States: {
        C: {
          Type: "Choice",
          Choices: [{ Variable: "$.missing", NumericEquals: 1, Next: "A" }],
          Default: "A",
        },
        A: { Type: "Succeed" },
      },
    },
    input: {},
    status: "FAILED",
    error: "States.Runtime",
    cause:
      /^An error occurred while executing the state 'C' \(entered at the event id #2\)\. Invalid path '\$\.missing'/,
  },
  {
    name: "Choice OutputPath shapes the output",
    doc: CHOICE,
    definition: {
      StartAt: "C",
      States: {
        C: {
          Type: "Choice",
          OutputPath: "$.keep",
          Choices: [{ Variable: "$.go", BooleanEquals: true, Next: "A" }],
        },
        A: { Type: "Succeed" },
      },
    },
    input: { go: true, keep: { k: 1 } },
    status: "SUCCEEDED",
    output: { k: 1 },
  },
];

const waitCases: ConformanceCase[] = [
  {
    name: "Wait Seconds passes input through",
    doc: WAIT,
    definition: single({ Type: "Wait", Seconds: 1 }),
    input: { a: 1 },
    status: "SUCCEEDED",
    output: { a: 1 },
  },
  {
    name: "Wait Timestamp in the past ends at once",
    doc: WAIT,
    definition: single({ Type: "Wait", Timestamp: "2001-01-01T00:00:00Z" }),
    input: { a: 1 },
    status: "SUCCEEDED",
    output: { a: 1 },
  },
  {
    name: "Wait SecondsPath",
    doc: WAIT,
    definition: single({ Type: "Wait", SecondsPath: "$.delay" }),
    input: { delay: 2 },
    status: "SUCCEEDED",
    output: { delay: 2 },
  },
  {
    name: "Wait TimestampPath",
    doc: WAIT,
    definition: single({ Type: "Wait", TimestampPath: "$.until" }),
    input: { until: "2001-01-01T00:00:00Z" },
    status: "SUCCEEDED",
    output: { until: "2001-01-01T00:00:00Z" },
  },
  {
    name: "Wait SecondsPath with a negative value fails",
    doc: WAIT,
    definition: single({ Type: "Wait", SecondsPath: "$.delay" }),
    input: { delay: -1 },
    status: "FAILED",
    error: "States.Runtime",
    cause: /entered at the event id #2/,
  },
  {
    name: "Wait OutputPath",
    doc: WAIT,
    definition: single({ Type: "Wait", Seconds: 0, OutputPath: "$.a" }),
    input: { a: 3 },
    status: "SUCCEEDED",
    output: 3,
  },
];

const terminalCases: ConformanceCase[] = [
  {
    name: "Succeed passes input through",
    doc: SUCCEED,
    definition: single({ Type: "Succeed" }),
    input: { a: 1 },
    status: "SUCCEEDED",
    output: { a: 1 },
  },
  {
    name: "Succeed InputPath and OutputPath",
    doc: SUCCEED,
    definition: single({ Type: "Succeed", InputPath: "$.x", OutputPath: "$.y" }),
    input: { x: { y: 2 } },
    status: "SUCCEEDED",
    output: 2,
  },
  {
    name: "Fail with Error and Cause",
    doc: FAIL,
    definition: single({ Type: "Fail", Error: "MyError", Cause: "It broke" }),
    status: "FAILED",
    error: "MyError",
    cause: "It broke",
  },
  {
    name: "Fail with ErrorPath and CausePath",
    doc: FAIL,
    definition: single({ Type: "Fail", ErrorPath: "$.e", CausePath: "$.c" }),
    input: { e: "E1", c: "C1" },
    status: "FAILED",
    error: "E1",
    cause: "C1",
  },
  {
    name: "Fail ErrorPath built with an intrinsic",
    doc: FAIL,
    definition: single({
      Type: "Fail",
      Error: "Static",
      CausePath: "States.Format('code {}', $.code)",
    }),
    input: { code: 7 },
    status: "FAILED",
    error: "Static",
    cause: "code 7",
  },
];

const intrinsicCases: ConformanceCase[] = [
  intrinsic(
    "States.Format replaces placeholders",
    "States.Format('Hello, my name is {}.', $.name)",
    { name: "Arnav" },
    "Hello, my name is Arnav.",
  ),
  intrinsic(
    "States.Format with a template from input",
    "States.Format($.template, $.name)",
    { name: "Arnav", template: "Hello, my name is {}." },
    "Hello, my name is Arnav.",
  ),
  intrinsic(
    "States.Format prints numbers and booleans",
    "States.Format('{} {} {}', 1, true, null)",
    {},
    "1 true null",
  ),
  intrinsic(
    "States.Format prints objects as Java maps",
    "States.Format('{}', $.o)",
    { o: { a: 1, b: [] } },
    "{a=1, b=[]}",
  ),
  intrinsic(
    "States.Format prints arrays as Java lists",
    "States.Format('{}', $.a)",
    { a: [1, "x"] },
    "[1, x]",
  ),
  intrinsic("States.Format escaped braces", "States.Format('\\{\\} {}', 'v')", {}, "{} v"),
  intrinsic("States.Format escaped quote", "States.Format('it\\'s {}', 'ok')", {}, "it's ok"),
  intrinsic("States.Format escaped backslash", "States.Format('a\\\\b{}', 'c')", {}, "a\\bc"),
  intrinsicFails(
    "States.Format with too few arguments fails",
    "States.Format('{} {}', 'a')",
    {},
    /placeholders/,
  ),
  intrinsic(
    "States.StringToJson parses",
    "States.StringToJson($.s)",
    { s: '{"foo": "bar"}' },
    { foo: "bar" },
  ),
  intrinsic(
    "States.JsonToString serializes",
    "States.JsonToString($.o)",
    { o: { name: "Foo", year: 2020 } },
    '{"name":"Foo","year":2020}',
  ),
  intrinsic(
    "States.Array collects arguments",
    "States.Array('Foo', 2020, $.someJson, null)",
    { someJson: { random: "abcdefg" } },
    ["Foo", 2020, { random: "abcdefg" }, null],
  ),
  intrinsic("States.Array with no arguments", "States.Array()", {}, []),
  intrinsic(
    "States.ArrayPartition chunks",
    "States.ArrayPartition($.inputArray,4)",
    { inputArray: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
    [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
  ),
  intrinsicFails(
    "States.ArrayPartition chunk 0 fails",
    "States.ArrayPartition($.a, 0)",
    { a: [1] },
    /chunk size/,
  ),
  intrinsic(
    "States.ArrayContains true",
    "States.ArrayContains($.inputArray, $.lookingFor)",
    { inputArray: [1, 2, 3, 4, 5, 6, 7, 8, 9], lookingFor: 5 },
    true,
  ),
  intrinsic("States.ArrayContains false", "States.ArrayContains($.a, 'x')", { a: ["y"] }, false),
  intrinsic(
    "States.ArrayContains compares objects",
    "States.ArrayContains($.a, $.o)",
    { a: [{ k: 1 }], o: { k: 1 } },
    true,
  ),
  intrinsic("States.ArrayRange", "States.ArrayRange(1, 9, 2)", {}, [1, 3, 5, 7, 9]),
  intrinsic("States.ArrayRange counting down", "States.ArrayRange(5, 1, -2)", {}, [5, 3, 1]),
  intrinsicFails(
    "States.ArrayRange over 1000 elements fails",
    "States.ArrayRange(1, 2000, 1)",
    {},
    /1000/,
  ),
  intrinsicFails(
    "States.ArrayRange with step 0 fails",
    "States.ArrayRange(1, 2, 0)",
    {},
    /non-zero step/,
  ),
  intrinsic(
    "States.ArrayGetItem",
    "States.ArrayGetItem($.inputArray, $.index)",
    { inputArray: [1, 2, 3, 4, 5, 6, 7, 8, 9], index: 5 },
    6,
  ),
  intrinsicFails(
    "States.ArrayGetItem out of bounds fails",
    "States.ArrayGetItem($.a, 3)",
    { a: [1] },
    /out of bounds/,
  ),
  intrinsic(
    "States.ArrayLength",
    "States.ArrayLength($.inputArray)",
    { inputArray: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
    9,
  ),
  intrinsic(
    "States.ArrayUnique",
    "States.ArrayUnique($.inputArray)",
    { inputArray: [1, 2, 3, 3, 3, 3, 3, 3, 4] },
    [1, 2, 3, 4],
  ),
  intrinsic(
    "States.Base64Encode",
    "States.Base64Encode($.input)",
    { input: "Data to encode" },
    "RGF0YSB0byBlbmNvZGU=",
  ),
  intrinsic(
    "States.Base64Decode",
    "States.Base64Decode($.base64)",
    { base64: "RGF0YSB0byBlbmNvZGU=" },
    "Data to encode",
  ),
  intrinsicFails(
    "States.Base64Encode over 10000 characters fails",
    "States.Base64Encode($.s)",
    { s: "x".repeat(10_001) },
    /10000/,
  ),
  // The docs' SHA-1 example prints 39 hex digits; this is the full 40-digit digest of "input data".
  intrinsic(
    "States.Hash SHA-1",
    "States.Hash($.Data, $.Algorithm)",
    { Data: "input data", Algorithm: "SHA-1" },
    "aaff4a450a104cd177d28d18d74485e8cae074b7",
  ),
  intrinsic("States.Hash MD5", "States.Hash('abc', 'MD5')", {}, "900150983cd24fb0d6963f7d28e17f72"),
  intrinsic(
    "States.Hash SHA-256",
    "States.Hash('abc', 'SHA-256')",
    {},
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  ),
  intrinsicFails(
    "States.Hash with an unknown algorithm fails",
    "States.Hash('abc', 'SHA-3')",
    {},
    /algorithm/,
  ),
  intrinsic(
    "States.JsonMerge shallow",
    "States.JsonMerge($.json1, $.json2, false)",
    { json1: { a: { a1: 1, a2: 2 }, b: 2 }, json2: { a: { a3: 1, a4: 2 }, c: 3 } },
    { a: { a3: 1, a4: 2 }, b: 2, c: 3 },
  ),
  intrinsicFails(
    "States.JsonMerge deep mode fails",
    "States.JsonMerge($.a, $.b, true)",
    { a: {}, b: {} },
    /shallow/,
  ),
  intrinsic("States.MathRandom stays in range", "States.MathRandom(5, 6)", {}, 5),
  intrinsic(
    "States.MathRandom with a seed repeats",
    "States.ArrayContains(States.Array(States.MathRandom(1, 3, 7)), States.MathRandom(1, 3, 7))",
    {},
    true,
  ),
  intrinsic("States.MathAdd", "States.MathAdd($.value1, $.step)", { value1: 111, step: -1 }, 110),
  intrinsic(
    "States.MathAdd rounds non-integers",
    "States.MathAdd($.a, $.b)",
    { a: 1.5, b: 1.2 },
    3,
  ),
  intrinsic(
    "States.StringSplit",
    "States.StringSplit($.inputString, $.splitter)",
    { inputString: "1,2,3,4,5", splitter: "," },
    ["1", "2", "3", "4", "5"],
  ),
  intrinsic(
    "States.StringSplit with several delimiters",
    "States.StringSplit($.s, $.d)",
    { s: "This.is+a,test=string", d: ".+,=" },
    ["This", "is", "a", "test", "string"],
  ),
  intrinsic("States.StringSplit drops empty tokens", "States.StringSplit('a,,b,', ',')", {}, [
    "a",
    "b",
  ]),
  {
    name: "States.UUID returns a version 4 UUID",
    doc: INTRINSICS,
    definition: single({ Type: "Pass", Parameters: { "r.$": "States.UUID()" } }),
    status: "SUCCEEDED",
    output: (output: unknown) => {
      const value = (output as { r: string }).r;
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(value))
        throw new Error(`not a UUID v4: ${value}`);
    },
  },
  intrinsic(
    "Nested intrinsics",
    "States.ArrayGetItem(States.StringSplit($.arn, '/'), 1)",
    { arn: "a/b/c" },
    "b",
  ),
  intrinsic(
    "Intrinsic with a context argument",
    "States.Format('{}-{}', $$.State.Name, $.x)",
    { x: 1 },
    "S-1",
  ),
  intrinsicFails("Unknown intrinsic fails", "States.Nope($.x)", { x: 1 }, /unknown intrinsic/),
];

const fn = LAMBDA_ARN;

const taskCases: ConformanceCase[] = [
  {
    name: "Task with a function ARN returns the payload",
    doc: LAMBDA,
    definition: single({ Type: "Task", Resource: fn("echo") }),
    input: { a: 1 },
    status: "SUCCEEDED",
    output: { a: 1 },
  },
  {
    name: "Task lambda:invoke wraps the response",
    doc: LAMBDA,
    definition: single({
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke",
      Parameters: { FunctionName: fn("echo"), "Payload.$": "$" },
    }),
    input: { a: 1 },
    status: "SUCCEEDED",
    output: (output: unknown) => {
      const value = output as Record<string, unknown>;
      for (const key of [
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
      ]) {
        if (!(key in value)) throw new Error(`missing ${key} in ${JSON.stringify(value)}`);
      }
      if (JSON.stringify(value.Payload) !== '{"a":1}')
        throw new Error(`wrong Payload ${JSON.stringify(value.Payload)}`);
      if (value.StatusCode !== 200) throw new Error(`wrong StatusCode ${value.StatusCode}`);
    },
  },
  {
    name: "Task lambda:invoke with ResultSelector on Payload",
    doc: LAMBDA,
    definition: single({
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke",
      Parameters: { FunctionName: "double", "Payload.$": "$" },
      ResultSelector: { "v.$": "$.Payload.value" },
    }),
    input: { value: 4 },
    status: "SUCCEEDED",
    output: { v: 8 },
  },
  {
    name: "Task ResultPath keeps the input",
    doc: RESULT_PATH,
    definition: single({ Type: "Task", Resource: fn("double"), ResultPath: "$.out" }),
    input: { value: 2 },
    status: "SUCCEEDED",
    output: { value: 2, out: { value: 4 } },
  },
  {
    name: "Task OutputPath",
    doc: FILTERING,
    definition: single({ Type: "Task", Resource: fn("double"), OutputPath: "$.value" }),
    input: { value: 2 },
    status: "SUCCEEDED",
    output: 4,
  },
  {
    name: "Task function error gives errorType and payload",
    doc: ERRORS,
    definition: single({ Type: "Task", Resource: fn("fail") }),
    input: { errorType: "ValidationError", message: "bad" },
    status: "FAILED",
    error: "ValidationError",
    cause: '{"errorType":"ValidationError","errorMessage":"bad","trace":["ValidationError: bad"]}',
  },
  {
    name: "Task lambda:invoke function error",
    doc: LAMBDA,
    definition: single({
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke",
      Parameters: { FunctionName: "fail", Payload: { errorType: "E2" } },
    }),
    status: "FAILED",
    error: "E2",
    cause: /"errorType":"E2"/,
  },
  {
    name: "Task unknown function fails with Lambda.ResourceNotFoundException",
    doc: `${DOCS}/bp-lambda-serviceexception.html`,
    definition: single({ Type: "Task", Resource: fn("missing") }),
    status: "FAILED",
    error: "Lambda.ResourceNotFoundException",
    cause: /Function not found.*Status Code: 404; Error Code: ResourceNotFoundException/,
  },
  {
    name: "Task throttle fails with Lambda.TooManyRequestsException",
    doc: `${DOCS}/bp-lambda-serviceexception.html`,
    definition: single({ Type: "Task", Resource: fn("throttled") }),
    status: "FAILED",
    error: "Lambda.TooManyRequestsException",
    cause: /Rate Exceeded\..*Status Code: 429/,
  },
  {
    name: "Task TimeoutSeconds fails with States.Timeout",
    doc: TASK,
    definition: single({ Type: "Task", Resource: fn("slow"), TimeoutSeconds: 1 }),
    input: { ms: 3000 },
    status: "FAILED",
    error: "States.Timeout",
  },
  {
    name: "Task TimeoutSecondsPath",
    doc: TASK,
    definition: single({ Type: "Task", Resource: fn("slow"), TimeoutSecondsPath: "$.timeout" }),
    input: { ms: 3000, timeout: 1 },
    status: "FAILED",
    error: "States.Timeout",
  },
  {
    name: "Task finishing inside its timeout succeeds",
    doc: TASK,
    definition: single({ Type: "Task", Resource: fn("slow"), TimeoutSeconds: 5 }),
    input: { ms: 10 },
    status: "SUCCEEDED",
    output: { ms: 10 },
  },
  {
    name: "Task with an unsupported resource fails",
    doc: TASK,
    definition: single({ Type: "Task", Resource: "arn:aws:states:::sqs:sendMessage" }),
    status: "FAILED",
    error: "States.Runtime",
    cause: /not supported/,
  },
  {
    name: "Task Parameters with context and intrinsics",
    doc: INPUT_PATH,
    definition: single({
      Type: "Task",
      Resource: fn("echo"),
      Parameters: { "state.$": "$$.State.Name", "joined.$": "States.Format('{}{}', $.a, $.b)" },
    }),
    input: { a: "x", b: "y" },
    status: "SUCCEEDED",
    output: { state: "S", joined: "xy" },
  },
];

/** Builds a machine whose Task has the given Retry and Catch, and whose catchers lead to Recovered. */
function handled(
  retry: unknown[] | undefined,
  catchers: unknown[] | undefined,
  task: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    StartAt: "T",
    States: {
      T: {
        Type: "Task",
        Resource: fn("fail"),
        ...(retry ? { Retry: retry } : {}),
        ...(catchers ? { Catch: catchers } : {}),
        End: true,
        ...task,
      },
      Recovered: { Type: "Pass", End: true },
    },
  };
}

const errorCases: ConformanceCase[] = [
  {
    name: "Retry succeeds once the function recovers",
    doc: ERRORS,
    definition: single({
      Type: "Task",
      Resource: fn("flaky"),
      Retry: [{ ErrorEquals: ["Flaky"], MaxAttempts: 3 }],
    }),
    input: { key: "r1", failTimes: 2 },
    status: "SUCCEEDED",
    output: { attempts: 3 },
  },
  {
    name: "Retry gives up after MaxAttempts",
    doc: ERRORS,
    definition: single({
      Type: "Task",
      Resource: fn("flaky"),
      Retry: [{ ErrorEquals: ["Flaky"], MaxAttempts: 2 }],
    }),
    input: { key: "r2", failTimes: 5 },
    status: "FAILED",
    error: "Flaky",
  },
  {
    name: "Retry defaults to three retries",
    doc: ERRORS,
    definition: single({
      Type: "Task",
      Resource: fn("flaky"),
      Retry: [{ ErrorEquals: ["Flaky"] }],
    }),
    input: { key: "r3", failTimes: 3 },
    status: "SUCCEEDED",
    output: { attempts: 4 },
  },
  {
    name: "Retry MaxAttempts 0 never retries",
    doc: ERRORS,
    definition: single({
      Type: "Task",
      Resource: fn("flaky"),
      Retry: [{ ErrorEquals: ["Flaky"], MaxAttempts: 0 }],
    }),
    input: { key: "r4", failTimes: 1 },
    status: "FAILED",
    error: "Flaky",
  },
  {
    name: "Retry with an unmatched error does not retry",
    doc: ERRORS,
    definition: single({
      Type: "Task",
      Resource: fn("flaky"),
      Retry: [{ ErrorEquals: ["Other"] }],
    }),
    input: { key: "r5", failTimes: 1 },
    status: "FAILED",
    error: "Flaky",
  },
  {
    name: "Retriers keep separate counters",
    doc: `${DOCS}/concepts-error-handling.html`,
    definition: {
      StartAt: "X",
      States: {
        X: {
          Type: "Task",
          Resource: fn("sequence"),
          Retry: [
            {
              ErrorEquals: ["ErrorA", "ErrorB"],
              IntervalSeconds: 1,
              BackoffRate: 2.0,
              MaxAttempts: 2,
            },
            { ErrorEquals: ["ErrorC"], IntervalSeconds: 5 },
          ],
          Catch: [{ ErrorEquals: ["States.ALL"], Next: "Z" }],
          Next: "Y",
        },
        Y: { Type: "Succeed" },
        Z: { Type: "Pass", End: true },
      },
    },
    input: { key: "seq1", errors: ["ErrorA", "ErrorB", "ErrorC", "ErrorB"] },
    status: "SUCCEEDED",
    output: {
      Error: "ErrorB",
      Cause: '{"errorType":"ErrorB","errorMessage":"call 4","trace":["ErrorB: call 4"]}',
    },
  },
  {
    name: "Retry with States.ALL",
    doc: ERRORS,
    definition: single({
      Type: "Task",
      Resource: fn("flaky"),
      Retry: [{ ErrorEquals: ["States.ALL"] }],
    }),
    input: { key: "r6", failTimes: 1 },
    status: "SUCCEEDED",
    output: { attempts: 2 },
  },
  {
    name: "Retry with States.TaskFailed matches a function error",
    doc: ERRORS,
    definition: single({
      Type: "Task",
      Resource: fn("flaky"),
      Retry: [{ ErrorEquals: ["States.TaskFailed"] }],
    }),
    input: { key: "r7", failTimes: 1 },
    status: "SUCCEEDED",
    output: { attempts: 2 },
  },
  {
    name: "States.TaskFailed does not catch States.Timeout",
    doc: ERRORS,
    definition: handled(undefined, [{ ErrorEquals: ["States.TaskFailed"], Next: "Recovered" }], {
      Resource: fn("slow"),
      TimeoutSeconds: 1,
    }),
    input: { ms: 3000 },
    status: "FAILED",
    error: "States.Timeout",
  },
  {
    name: "States.Timeout is caught by name",
    doc: ERRORS,
    definition: handled(undefined, [{ ErrorEquals: ["States.Timeout"], Next: "Recovered" }], {
      Resource: fn("slow"),
      TimeoutSeconds: 1,
    }),
    input: { ms: 3000 },
    status: "SUCCEEDED",
    output: { Error: "States.Timeout" },
  },
  {
    name: "Catch replaces the input with the error output",
    doc: ERRORS,
    definition: handled(undefined, [{ ErrorEquals: ["Boom"], Next: "Recovered" }]),
    input: { errorType: "Boom", message: "m" },
    status: "SUCCEEDED",
    output: { Error: "Boom", Cause: '{"errorType":"Boom","errorMessage":"m","trace":["Boom: m"]}' },
  },
  {
    name: "Catch ResultPath adds the error output",
    doc: ERRORS,
    definition: handled(undefined, [
      { ErrorEquals: ["Boom"], ResultPath: "$.err", Next: "Recovered" },
    ]),
    input: { errorType: "Boom", message: "m" },
    status: "SUCCEEDED",
    output: (output: unknown) => {
      const value = output as { errorType: string; err: { Error: string } };
      if (value.errorType !== "Boom" || value.err.Error !== "Boom")
        throw new Error(`unexpected ${JSON.stringify(value)}`);
    },
  },
  {
    name: "Catch takes the first matching catcher",
    doc: ERRORS,
    definition: {
      StartAt: "T",
      States: {
        T: {
          Type: "Task",
          Resource: fn("fail"),
          Catch: [
            { ErrorEquals: ["Other"], Next: "A" },
            { ErrorEquals: ["Boom"], Next: "B" },
            { ErrorEquals: ["States.ALL"], Next: "A" },
          ],
          End: true,
        },
        A: { Type: "Pass", Result: "A", End: true },
        B: { Type: "Pass", Result: "B", End: true },
      },
    },
    input: { errorType: "Boom" },
    status: "SUCCEEDED",
    output: "B",
  },
  {
    name: "Catch States.ALL catches custom errors",
    doc: ERRORS,
    definition: handled(undefined, [
      { ErrorEquals: ["States.ALL"], ResultPath: null, Next: "Recovered" },
    ]),
    input: { errorType: "Whatever" },
    status: "SUCCEEDED",
    output: { errorType: "Whatever" },
  },
  {
    name: "Retry exhausts before Catch applies",
    doc: ERRORS,
    definition: handled(
      [{ ErrorEquals: ["Flaky"], MaxAttempts: 1 }],
      [{ ErrorEquals: ["Flaky"], ResultPath: "$.caught", Next: "Recovered" }],
      { Resource: fn("flaky") },
    ),
    input: { key: "r8", failTimes: 5 },
    status: "SUCCEEDED",
    output: (output: unknown) => {
      const value = output as { caught?: { Error: string } };
      if (value.caught?.Error !== "Flaky") throw new Error(`unexpected ${JSON.stringify(value)}`);
    },
  },
  {
    name: "States.Runtime is not caught by States.ALL",
    doc: ERRORS,
    definition: handled(undefined, [{ ErrorEquals: ["States.ALL"], Next: "Recovered" }], {
      Resource: fn("echo"),
      Parameters: { "x.$": "$.missing" },
    }),
    input: {},
    status: "FAILED",
    error: "States.Runtime",
  },
  {
    name: "States.DataLimitExceeded is not caught by States.ALL",
    doc: ERRORS,
    definition: handled(undefined, [{ ErrorEquals: ["States.ALL"], Next: "Recovered" }], {
      Resource: fn("big"),
    }),
    input: { size: 300_000 },
    status: "FAILED",
    error: "States.DataLimitExceeded",
  },
  {
    name: "States.DataLimitExceeded is caught by its own name",
    doc: ERRORS,
    definition: handled(
      undefined,
      [{ ErrorEquals: ["States.DataLimitExceeded"], ResultPath: null, Next: "Recovered" }],
      { Resource: fn("big") },
    ),
    input: { size: 300_000 },
    status: "SUCCEEDED",
    output: { size: 300_000 },
  },
  {
    name: "Lambda throttles are retried",
    doc: `${DOCS}/bp-lambda-serviceexception.html`,
    definition: single({
      Type: "Task",
      Resource: fn("throttledOnce"),
      Retry: [{ ErrorEquals: ["Lambda.TooManyRequestsException"] }],
    }),
    input: { key: "t1" },
    status: "SUCCEEDED",
    output: { ok: true },
  },
  {
    name: "Retry RetryCount is visible in the context object",
    doc: CONTEXT,
    definition: single({
      Type: "Task",
      Resource: fn("flaky"),
      Parameters: {
        "key.$": "$.key",
        "failTimes.$": "$.failTimes",
        "retry.$": "$$.State.RetryCount",
      },
      Retry: [{ ErrorEquals: ["Flaky"] }],
    }),
    input: { key: "r9", failTimes: 2 },
    status: "SUCCEEDED",
    output: { attempts: 3, retry: 2 },
  },
];

const parallelCases: ConformanceCase[] = [
  {
    name: "Parallel outputs an array of branch outputs",
    doc: PARALLEL,
    definition: single({
      Type: "Parallel",
      Branches: [
        { StartAt: "A", States: { A: { Type: "Pass", Result: 1, End: true } } },
        { StartAt: "B", States: { B: { Type: "Task", Resource: fn("double"), End: true } } },
      ],
    }),
    input: { value: 5 },
    status: "SUCCEEDED",
    output: [1, { value: 10 }],
  },
  {
    name: "Parallel branch failure fails the execution",
    doc: PARALLEL,
    definition: single({
      Type: "Parallel",
      Branches: [
        { StartAt: "A", States: { A: { Type: "Wait", Seconds: 60, End: true } } },
        { StartAt: "B", States: { B: { Type: "Fail", Error: "BranchError", Cause: "branch 2" } } },
      ],
    }),
    status: "FAILED",
    error: "BranchError",
    cause: "branch 2",
  },
  {
    name: "Parallel Catch handles a branch failure",
    doc: PARALLEL,
    definition: {
      StartAt: "P",
      States: {
        P: {
          Type: "Parallel",
          Branches: [{ StartAt: "B", States: { B: { Type: "Fail", Error: "E", Cause: "C" } } }],
          Catch: [{ ErrorEquals: ["E"], Next: "R" }],
          End: true,
        },
        R: { Type: "Pass", End: true },
      },
    },
    status: "SUCCEEDED",
    output: { Error: "E", Cause: "C" },
  },
  {
    name: "Parallel ResultSelector and ResultPath",
    doc: PARALLEL,
    definition: single({
      Type: "Parallel",
      Branches: [{ StartAt: "A", States: { A: { Type: "Pass", Result: { v: 1 }, End: true } } }],
      ResultSelector: { "first.$": "$[0].v" },
      ResultPath: "$.result",
    }),
    input: { keep: true },
    status: "SUCCEEDED",
    output: { keep: true, result: { first: 1 } },
  },
  {
    name: "Parallel branch Lambda error propagates its name",
    doc: PARALLEL,
    definition: single({
      Type: "Parallel",
      Branches: [
        { StartAt: "T", States: { T: { Type: "Task", Resource: fn("fail"), End: true } } },
      ],
    }),
    input: { errorType: "InBranch", message: "x" },
    status: "FAILED",
    error: "InBranch",
  },
  {
    name: "Parallel Retry re-runs the branches",
    doc: PARALLEL,
    definition: single({
      Type: "Parallel",
      Branches: [
        { StartAt: "T", States: { T: { Type: "Task", Resource: fn("flaky"), End: true } } },
      ],
      Retry: [{ ErrorEquals: ["Flaky"] }],
    }),
    input: { key: "p1", failTimes: 1 },
    status: "SUCCEEDED",
    output: [{ attempts: 2 }],
  },
];

const mapCases: ConformanceCase[] = [
  {
    name: "Map runs the processor per item",
    doc: MAP,
    definition: single({
      Type: "Map",
      ItemProcessor: {
        StartAt: "D",
        States: { D: { Type: "Task", Resource: fn("double"), End: true } },
      },
    }),
    input: [{ value: 1 }, { value: 2 }],
    status: "SUCCEEDED",
    output: [{ value: 2 }, { value: 4 }],
  },
  {
    name: "Map ItemsPath",
    doc: MAP,
    definition: single({
      Type: "Map",
      ItemsPath: "$.list",
      ItemProcessor: { StartAt: "P", States: { P: { Type: "Pass", End: true } } },
    }),
    input: { list: [1, 2, 3] },
    status: "SUCCEEDED",
    output: [1, 2, 3],
  },
  {
    name: "Map over an empty array",
    doc: MAP,
    definition: single({
      Type: "Map",
      ItemsPath: "$.list",
      ItemProcessor: { StartAt: "P", States: { P: { Type: "Pass", End: true } } },
    }),
    input: { list: [] },
    status: "SUCCEEDED",
    output: [],
  },
  {
    name: "Map ItemSelector with Map.Item.Index and Value",
    doc: ITEM_SELECTOR,
    definition: single({
      Type: "Map",
      ItemsPath: "$.list",
      ItemSelector: {
        "index.$": "$$.Map.Item.Index",
        "value.$": "$$.Map.Item.Value",
        "shared.$": "$.shared",
      },
      ItemProcessor: { StartAt: "P", States: { P: { Type: "Pass", End: true } } },
    }),
    input: { list: ["a", "b"], shared: 1 },
    status: "SUCCEEDED",
    output: [
      { index: 0, value: "a", shared: 1 },
      { index: 1, value: "b", shared: 1 },
    ],
  },
  {
    name: "Map legacy Iterator and Parameters",
    doc: ITEM_SELECTOR,
    definition: single({
      Type: "Map",
      Parameters: { "v.$": "$$.Map.Item.Value" },
      Iterator: { StartAt: "P", States: { P: { Type: "Pass", End: true } } },
    }),
    input: [7],
    status: "SUCCEEDED",
    output: [{ v: 7 }],
  },
  {
    name: "Map MaxConcurrency 1 runs items in order",
    doc: MAP,
    definition: single({
      Type: "Map",
      MaxConcurrency: 1,
      ItemProcessor: {
        StartAt: "T",
        States: { T: { Type: "Task", Resource: fn("order"), End: true } },
      },
    }),
    input: [
      { key: "o1", ms: 30 },
      { key: "o1", ms: 1 },
      { key: "o1", ms: 10 },
    ],
    status: "SUCCEEDED",
    output: [{ position: 0 }, { position: 1 }, { position: 2 }],
  },
  {
    name: "Map MaxConcurrencyPath",
    doc: MAP,
    definition: single({
      Type: "Map",
      ItemsPath: "$.items",
      MaxConcurrencyPath: "$.max",
      ItemProcessor: { StartAt: "P", States: { P: { Type: "Pass", End: true } } },
    }),
    input: { items: [1, 2], max: 1 },
    status: "SUCCEEDED",
    output: [1, 2],
  },
  {
    name: "Map iteration failure fails the Map",
    doc: MAP,
    definition: single({
      Type: "Map",
      ItemProcessor: {
        StartAt: "T",
        States: { T: { Type: "Task", Resource: fn("fail"), End: true } },
      },
    }),
    input: [{ errorType: "ItemError", message: "item" }],
    status: "FAILED",
    error: "ItemError",
    cause: /"errorMessage":"item"/,
  },
  {
    name: "Map ToleratedFailureCount allows failures",
    doc: `${DOCS}/state-map-distributed.html`,
    definition: single({
      Type: "Map",
      ToleratedFailureCount: 1,
      ItemProcessor: {
        StartAt: "T",
        States: { T: { Type: "Task", Resource: fn("failIf"), End: true } },
      },
    }),
    input: [{ fail: false }, { fail: true }],
    status: "SUCCEEDED",
    output: (output: unknown) => {
      const value = output as unknown[];
      if (value.length !== 2 || JSON.stringify(value[0]) !== '{"fail":false}')
        throw new Error(`unexpected ${JSON.stringify(value)}`);
    },
  },
  {
    name: "Map over the tolerated failures fails",
    doc: ERRORS,
    definition: single({
      Type: "Map",
      ToleratedFailurePercentage: 10,
      ItemProcessor: {
        StartAt: "T",
        States: { T: { Type: "Task", Resource: fn("failIf"), End: true } },
      },
    }),
    input: [{ fail: true }, { fail: false }],
    status: "FAILED",
    error: "States.ExceedToleratedFailureThreshold",
  },
  {
    name: "Map ItemsPath on a non-array fails",
    doc: MAP,
    definition: single({
      Type: "Map",
      ItemsPath: "$.x",
      ItemProcessor: { StartAt: "P", States: { P: { Type: "Pass", End: true } } },
    }),
    input: { x: 5 },
    status: "FAILED",
    error: "States.Runtime",
    cause: /not a JSON array/,
  },
  {
    name: "Map ResultPath",
    doc: MAP,
    definition: single({
      Type: "Map",
      ItemsPath: "$.l",
      ResultPath: "$.out",
      ItemProcessor: { StartAt: "P", States: { P: { Type: "Pass", Result: 0, End: true } } },
    }),
    input: { l: [1, 2] },
    status: "SUCCEEDED",
    output: { l: [1, 2], out: [0, 0] },
  },
  {
    name: "Map Catch handles an iteration failure",
    doc: ERRORS,
    definition: {
      StartAt: "M",
      States: {
        M: {
          Type: "Map",
          ItemProcessor: { StartAt: "F", States: { F: { Type: "Fail", Error: "X" } } },
          Catch: [{ ErrorEquals: ["X"], Next: "R" }],
          End: true,
        },
        R: { Type: "Pass", End: true },
      },
    },
    input: [1],
    status: "SUCCEEDED",
    output: { Error: "X" },
  },
  {
    name: "Map nested in a Map",
    doc: MAP,
    definition: single({
      Type: "Map",
      ItemProcessor: {
        StartAt: "Inner",
        States: {
          Inner: {
            Type: "Map",
            ItemProcessor: { StartAt: "P", States: { P: { Type: "Pass", End: true } } },
            End: true,
          },
        },
      },
    }),
    input: [[1, 2], [3]],
    status: "SUCCEEDED",
    output: [[1, 2], [3]],
  },
];

const jsonataCases: ConformanceCase[] = [
  {
    name: "JSONata Output expression",
    doc: JSONATA,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "S",
      States: {
        S: { Type: "Pass", Output: { sum: "{% $states.input.a + $states.input.b %}" }, End: true },
      },
    },
    input: { a: 1, b: 2 },
    status: "SUCCEEDED",
    output: { sum: 3 },
  },
  {
    name: "JSONata Arguments and result",
    doc: JSONATA,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "T",
      States: {
        T: {
          Type: "Task",
          Resource: fn("double"),
          Arguments: { value: "{% $states.input.n %}" },
          Output: "{% $states.result.value %}",
          End: true,
        },
      },
    },
    input: { n: 21 },
    status: "SUCCEEDED",
    output: 42,
  },
  {
    name: "JSONata lambda:invoke Payload",
    doc: LAMBDA,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "T",
      States: {
        T: {
          Type: "Task",
          Resource: "arn:aws:states:::lambda:invoke",
          Arguments: { FunctionName: "double", Payload: "{% $states.input %}" },
          Output: "{% $states.result.Payload %}",
          End: true,
        },
      },
    },
    input: { value: 3 },
    status: "SUCCEEDED",
    output: { value: 6 },
  },
  {
    name: "JSONata Assign and read a variable later",
    doc: VARIABLES,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "A",
      States: {
        A: { Type: "Pass", Assign: { total: "{% $states.input.n * 2 %}" }, Next: "B" },
        B: { Type: "Pass", Output: { t: "{% $total %}" }, End: true },
      },
    },
    input: { n: 5 },
    status: "SUCCEEDED",
    output: { t: 10 },
  },
  {
    name: "JSONata Choice Condition",
    doc: CHOICE,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "C",
      States: {
        C: {
          Type: "Choice",
          Choices: [{ Condition: "{% $states.input.n > 3 %}", Next: "Big" }],
          Default: "Small",
        },
        Big: { Type: "Pass", Output: "big", End: true },
        Small: { Type: "Pass", Output: "small", End: true },
      },
    },
    input: { n: 4 },
    status: "SUCCEEDED",
    output: "big",
  },
  {
    name: "JSONata reads the context",
    doc: JSONATA,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "S",
      States: { S: { Type: "Pass", Output: "{% $states.context.State.Name %}", End: true } },
    },
    status: "SUCCEEDED",
    output: "S",
  },
  {
    name: "JSONata Map Items",
    doc: MAP,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "M",
      States: {
        M: {
          Type: "Map",
          Items: "{% $states.input.list %}",
          ItemProcessor: {
            StartAt: "P",
            States: { P: { Type: "Pass", Output: "{% $states.input * 10 %}", End: true } },
          },
          End: true,
        },
      },
    },
    input: { list: [1, 2] },
    status: "SUCCEEDED",
    output: [10, 20],
  },
  {
    name: "JSONata Fail with expressions",
    doc: FAIL,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "F",
      States: {
        F: {
          Type: "Fail",
          Error: "{% 'Code' & $string($states.input.c) %}",
          Cause: "{% $states.input.msg %}",
        },
      },
    },
    input: { c: 4, msg: "m" },
    status: "FAILED",
    error: "Code4",
    cause: "m",
  },
  {
    name: "JSONata Catch Output with errorOutput",
    doc: ERRORS,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "T",
      States: {
        T: {
          Type: "Task",
          Resource: fn("fail"),
          Arguments: { errorType: "J" },
          Catch: [
            { ErrorEquals: ["J"], Output: { e: "{% $states.errorOutput.Error %}" }, Next: "R" },
          ],
          End: true,
        },
        R: { Type: "Pass", End: true },
      },
    },
    status: "SUCCEEDED",
    output: { e: "J" },
  },
  {
    name: "JSONata evaluation error fails with States.QueryEvaluationError",
    doc: ERRORS,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "S",
      States: {
        S: { Type: "Pass", Output: "{% $number('abc') + $undefinedFunction() %}", End: true },
      },
    },
    status: "FAILED",
    error: "States.QueryEvaluationError",
  },
  {
    name: "JSONata state inside a JSONPath machine",
    doc: JSONATA,
    definition: {
      StartAt: "A",
      States: {
        A: { Type: "Pass", Parameters: { "v.$": "$.x" }, Next: "B" },
        B: {
          Type: "Pass",
          QueryLanguage: "JSONata",
          Output: "{% $states.input.v + 1 %}",
          End: true,
        },
      },
    },
    input: { x: 1 },
    status: "SUCCEEDED",
    output: 2,
  },
  {
    name: "JSONata Wait Seconds expression",
    doc: WAIT,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "W",
      States: { W: { Type: "Wait", Seconds: "{% $states.input.s %}", End: true } },
    },
    input: { s: 1 },
    status: "SUCCEEDED",
    output: { s: 1 },
  },
  {
    name: "JSONPath Assign and a variable reference",
    doc: VARIABLES,
    definition: {
      StartAt: "A",
      States: {
        A: { Type: "Pass", Assign: { "saved.$": "$.v" }, Next: "B" },
        B: { Type: "Pass", Parameters: { "got.$": "$saved" }, End: true },
      },
    },
    input: { v: "kept" },
    status: "SUCCEEDED",
    output: { got: "kept" },
  },
  {
    name: "Variables are visible inside Map iterations",
    doc: VARIABLES,
    definition: {
      StartAt: "A",
      States: {
        A: { Type: "Pass", Assign: { "factor.$": "$.f" }, Next: "M" },
        M: {
          Type: "Map",
          ItemsPath: "$.l",
          ItemProcessor: {
            StartAt: "P",
            States: { P: { Type: "Pass", Parameters: { "f.$": "$factor" }, End: true } },
          },
          End: true,
        },
      },
    },
    input: { f: 3, l: [1] },
    status: "SUCCEEDED",
    output: [{ f: 3 }],
  },
];

const compositionCases: ConformanceCase[] = [
  {
    name: "Map ResultSelector shapes the results",
    doc: MAP,
    definition: single({
      Type: "Map",
      ItemsPath: "$.l",
      ResultSelector: { "count.$": "States.ArrayLength($)" },
      ItemProcessor: { StartAt: "P", States: { P: { Type: "Pass", End: true } } },
    }),
    input: { l: [1, 2, 3] },
    status: "SUCCEEDED",
    output: { count: 3 },
  },
  {
    name: "Map failure inside a Parallel branch propagates",
    doc: PARALLEL,
    definition: single({
      Type: "Parallel",
      Branches: [
        {
          StartAt: "M",
          States: {
            M: {
              Type: "Map",
              ItemProcessor: {
                StartAt: "F",
                States: { F: { Type: "Fail", Error: "Deep", Cause: "inner item" } },
              },
              End: true,
            },
          },
        },
      ],
    }),
    input: [1, 2],
    status: "FAILED",
    error: "Deep",
    cause: "inner item",
  },
  {
    name: "Parallel failure inside a Map iteration propagates",
    doc: MAP,
    definition: single({
      Type: "Map",
      ItemProcessor: {
        StartAt: "P",
        States: {
          P: {
            Type: "Parallel",
            Branches: [
              { StartAt: "T", States: { T: { Type: "Task", Resource: fn("fail"), End: true } } },
            ],
            End: true,
          },
        },
      },
    }),
    input: [{ errorType: "FromBranch", message: "b" }],
    status: "FAILED",
    error: "FromBranch",
    cause: '{"errorType":"FromBranch","errorMessage":"b","trace":["FromBranch: b"]}',
  },
  {
    name: "JSONata Parallel Arguments and Output",
    doc: JSONATA,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "P",
      States: {
        P: {
          Type: "Parallel",
          Arguments: { n: "{% $states.input.n %}" },
          Branches: [
            {
              StartAt: "A",
              States: { A: { Type: "Pass", Output: "{% $states.input.n + 1 %}", End: true } },
            },
            {
              StartAt: "B",
              States: { B: { Type: "Pass", Output: "{% $states.input.n * 2 %}", End: true } },
            },
          ],
          Output: "{% $sum($states.result) %}",
          End: true,
        },
      },
    },
    input: { n: 3 },
    status: "SUCCEEDED",
    output: 10,
  },
  {
    name: "JSONata Map ItemSelector reads Map.Item",
    doc: ITEM_SELECTOR,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "M",
      States: {
        M: {
          Type: "Map",
          Items: "{% $states.input.l %}",
          ItemSelector: {
            i: "{% $states.context.Map.Item.Index %}",
            v: "{% $states.context.Map.Item.Value %}",
          },
          ItemProcessor: { StartAt: "P", States: { P: { Type: "Pass", End: true } } },
          End: true,
        },
      },
    },
    input: { l: ["x", "y"] },
    status: "SUCCEEDED",
    output: [
      { i: 0, v: "x" },
      { i: 1, v: "y" },
    ],
  },
  {
    name: "JSONata Choice rule Output",
    doc: CHOICE,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "C",
      States: {
        C: {
          Type: "Choice",
          Choices: [
            { Condition: "{% $states.input.ok %}", Output: { picked: "rule" }, Next: "Done" },
          ],
          Default: "Done",
        },
        Done: { Type: "Succeed" },
      },
    },
    input: { ok: true },
    status: "SUCCEEDED",
    output: { picked: "rule" },
  },
  {
    name: "JSONata Choice without match or Default fails",
    doc: ERRORS,
    definition: {
      QueryLanguage: "JSONata",
      StartAt: "C",
      States: {
        C: { Type: "Choice", Choices: [{ Condition: "{% false %}", Next: "Done" }] },
        Done: { Type: "Succeed" },
      },
    },
    status: "FAILED",
    error: "States.NoChoiceMatched",
  },
  {
    name: "Map Retry runs every iteration again",
    doc: ERRORS,
    definition: single({
      Type: "Map",
      Retry: [{ ErrorEquals: ["Flaky"] }],
      ItemProcessor: {
        StartAt: "T",
        States: { T: { Type: "Task", Resource: fn("flaky"), End: true } },
      },
    }),
    input: [
      { key: "map-retry-a", failTimes: 0 },
      { key: "map-retry-b", failTimes: 1 },
    ],
    status: "SUCCEEDED",
    output: [{ attempts: 2 }, { attempts: 2 }],
  },
  {
    name: "Parallel ResultPath null keeps the input",
    doc: RESULT_PATH,
    definition: single({
      Type: "Parallel",
      ResultPath: null,
      Branches: [{ StartAt: "A", States: { A: { Type: "Pass", Result: 1, End: true } } }],
    }),
    input: { keep: 1 },
    status: "SUCCEEDED",
    output: { keep: 1 },
  },
  {
    name: "Catch in an iteration lets the Map succeed",
    doc: ERRORS,
    definition: single({
      Type: "Map",
      ItemProcessor: {
        StartAt: "T",
        States: {
          T: {
            Type: "Task",
            Resource: fn("failIf"),
            Catch: [{ ErrorEquals: ["ItemFailed"], ResultPath: "$.error", Next: "R" }],
            End: true,
          },
          R: { Type: "Pass", End: true },
        },
      },
    }),
    input: [{ fail: true }, { fail: false }],
    status: "SUCCEEDED",
    output: [
      {
        fail: true,
        error: {
          Error: "ItemFailed",
          Cause:
            '{"errorType":"ItemFailed","errorMessage":"item failed","trace":["ItemFailed: item failed"]}',
        },
      },
      { fail: false },
    ],
  },
];

const limitCases: ConformanceCase[] = [
  {
    name: "State output over 256 KiB fails with States.DataLimitExceeded",
    doc: QUOTAS,
    definition: single({ Type: "Task", Resource: fn("big") }),
    input: { size: 262_144 },
    status: "FAILED",
    error: "States.DataLimitExceeded",
    cause:
      "The state/task 'S' returned a result with a size exceeding the maximum number of bytes service limit.",
  },
  {
    name: "State output of 262,000 bytes is allowed",
    doc: QUOTAS,
    definition: single({ Type: "Task", Resource: fn("big"), OutputPath: "$.size" }),
    input: { size: 262_000 },
    status: "SUCCEEDED",
    output: 262_000,
  },
  {
    name: "Map over 1,000 items exceeding 256 KiB of output fails",
    doc: QUOTAS,
    definition: single({
      Type: "Map",
      ItemsPath: "$.items",
      ItemSelector: { "pad.$": "States.Format('{}', $$.Map.Item.Value)" },
      ItemProcessor: {
        StartAt: "P",
        States: {
          P: {
            Type: "Pass",
            Parameters: {
              "text.$":
                "States.Format('{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}', $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad, $.pad)",
            },
            End: true,
          },
        },
      },
    }),
    input: { items: Array.from({ length: 1000 }, () => "0123456789") },
    status: "FAILED",
    error: "States.DataLimitExceeded",
    cause:
      /The state\/task 'S' returned a result with a size exceeding the maximum number of bytes service limit\./,
  },
];

/** Every conformance case, in the order the brief lists the areas. */
export const CONFORMANCE_CASES: ConformanceCase[] = [
  ...passCases,
  ...comparisonCases,
  ...waitCases,
  ...terminalCases,
  ...intrinsicCases,
  ...taskCases,
  ...errorCases,
  ...parallelCases,
  ...mapCases,
  ...jsonataCases,
  ...compositionCases,
  ...limitCases,
];
