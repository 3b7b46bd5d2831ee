import { AKSKSigner } from "@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner";
import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { canonicalUri, rawPathname, signRequest } from "../../lib/secmaster/signer";

// The official signer (npm @huaweicloud/huaweicloud-sdk-core) is the reference. It takes the URL
// without a query as `endpoint`, the query as a `queryParams` object, and `data` as an object
// whose JSON.stringify() text it hashes. Our signRequest gets that exact text as the body.

type QueryValue = string | number | boolean | (string | number | boolean)[];

const ASCII_PRINTABLE = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
const NON_ASCII = fc.constantFrom("ä", "é", "ß", "中", "文", "告", "警", "😀", "\u00a0", "\u3000", "\uff0c");

// Path characters: anything printable except the separators that end a path, plus tabs,
// backslashes and non-ASCII text that the legacy URL parser treats specially.
const PATH_UNIT = fc.oneof(
  ASCII_PRINTABLE.filter((char) => !"/?#".includes(char)),
  NON_ASCII,
  fc.constantFrom("\t", "\\", "%", " "),
);
const ODD_SEGMENT = fc.constantFrom("", ".", "..", "%20", "%25", "wf 01+ä", "a\\b", "~user", "a;b=c", "x:y@z");
const SEGMENT = fc.oneof(fc.string({ unit: PATH_UNIT, maxLength: 12 }), ODD_SEGMENT);
const PATH = fc.oneof(
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 9, arbitrary: fc.array(SEGMENT, { maxLength: 6 }).map((segments) => `/${segments.join("/")}`) },
);

const QUERY_UNIT = fc.oneof(ASCII_PRINTABLE, NON_ASCII, fc.constantFrom("&", "=", "?", "+", "/", "#", "%"));
const QUERY_TEXT = fc.string({ unit: QUERY_UNIT, maxLength: 10 });
const QUERY_SCALAR = fc.oneof(QUERY_TEXT, fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.boolean());
const QUERY = fc.dictionary(QUERY_TEXT, fc.oneof(QUERY_SCALAR, fc.array(QUERY_SCALAR, { maxLength: 4 })), {
  maxKeys: 6,
}) as fc.Arbitrary<Record<string, QueryValue>>;

// Header names use only [a-z0-9-], in random case. The official signer sorts the SignedHeaders
// list by code unit but the canonical header lines with localeCompare. The two orders agree on
// such names, and the client signs no other names.
const RESERVED_HEADERS = new Set(["host", "x-sdk-date", "x-sdk-content-sha256", "authorization", "content-type"]);
const HEADER_NAME = fc
  .tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.boolean())
  .filter(([name]) => !RESERVED_HEADERS.has(name))
  .map(([name, upper]) => (upper ? name.toUpperCase() : name));
const HEADER_VALUE = fc.string({ unit: ASCII_PRINTABLE, maxLength: 24 });
const EXTRA_HEADERS = fc.uniqueArray(fc.tuple(HEADER_NAME, HEADER_VALUE), {
  maxLength: 5,
  selector: ([name]) => name.toLowerCase(),
});

const BODY_TEXT_UNIT = fc.oneof(ASCII_PRINTABLE, NON_ASCII, fc.constantFrom("安全告警", "主机", "\n", '"', "\\"));
const BODY = fc.option(
  fc.dictionary(fc.string({ unit: BODY_TEXT_UNIT, maxLength: 8 }), fc.jsonValue({ stringUnit: BODY_TEXT_UNIT, maxDepth: 3 }), {
    maxKeys: 5,
  }),
  { nil: undefined },
);

const SIGNING_DATE = fc.integer({ min: Date.UTC(2000, 0, 1) / 1000, max: Date.UTC(2099, 11, 31) / 1000 }).map(
  (seconds) => new Date(seconds * 1000),
);

const REQUEST = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
  origin: fc.constantFrom(
    "https://secmaster.cn-north-4.myhuaweicloud.com",
    "https://SecMaster.AP-Southeast-1.myhuaweicloud.com",
    "http://127.0.0.1:8080",
    "http://localhost:3000",
  ),
  path: PATH,
  query: fc.option(QUERY, { nil: undefined }),
  extraHeaders: EXTRA_HEADERS,
  contentType: fc.boolean(),
  projectId: fc.option(fc.stringMatching(/^[0-9a-f]{32}$/), { nil: undefined }),
  securityToken: fc.option(fc.string({ unit: ASCII_PRINTABLE, minLength: 1, maxLength: 40 }), { nil: undefined }),
  dateForm: fc.constantFrom("basic", "extended", "generated"),
  date: SIGNING_DATE,
  body: BODY,
  accessKey: fc.stringMatching(/^[A-Z0-9]{20}$/),
  secretKey: fc.stringMatching(/^[A-Za-z0-9]{40}$/),
});

type GeneratedRequest = typeof REQUEST extends fc.Arbitrary<infer T> ? T : never;

function buildHeaders(request: GeneratedRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of request.extraHeaders) headers[name] = value;
  if (request.contentType) headers["content-type"] = "application/json";
  if (request.projectId !== undefined) headers["X-Project-Id"] = request.projectId;
  if (request.securityToken !== undefined) headers["X-Security-Token"] = request.securityToken;
  if (request.dateForm === "basic") headers["X-Sdk-Date"] = request.date.toISOString().replace(/[-:]|\.\d{3}/g, "");
  if (request.dateForm === "extended") headers["X-Sdk-Date"] = request.date.toISOString();
  return headers;
}

// The official signer sorts query arrays in place, so it gets its own copy.
function copyQuery(query: Record<string, QueryValue> | undefined): Record<string, QueryValue> | undefined {
  if (query === undefined) return undefined;
  const copy: Record<string, QueryValue> = {};
  for (const [key, value] of Object.entries(query)) copy[key] = Array.isArray(value) ? [...value] : value;
  return copy;
}

function signWithOfficialSdk(request: GeneratedRequest, headers: Record<string, string>): Record<string, string> {
  const credential = new BasicCredentials().withAk(request.accessKey).withSk(request.secretKey);
  return AKSKSigner.sign(
    {
      method: request.method,
      endpoint: request.origin + request.path,
      queryParams: copyQuery(request.query),
      headers: { ...headers },
      data: request.body,
    },
    credential,
  );
}

function signWithOurs(request: GeneratedRequest, headers: Record<string, string>): Record<string, string> {
  return signRequest(
    {
      method: request.method,
      url: request.origin + request.path,
      query: copyQuery(request.query),
      headers: { ...headers },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
    },
    { accessKey: request.accessKey, secretKey: request.secretKey },
    request.date,
  );
}

describe("signRequest against the official Node SDK signer", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("produces identical Authorization headers for 1,000 random requests", () => {
    fc.assert(
      fc.property(REQUEST, (request) => {
        const headers = buildHeaders(request);
        // Without an X-Sdk-Date header the official signer reads the system clock.
        vi.useFakeTimers({ toFake: ["Date"], now: request.date });

        const official = signWithOfficialSdk(request, headers);
        const ours = signWithOurs(request, headers);
        vi.useRealTimers();

        expect(ours.Authorization).toBe(official.Authorization);
        expect(ours).toEqual(official);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("canonical URI edge cases of the legacy URL parser", () => {
  it("reads a backslash in the path as a slash", () => {
    expect(canonicalUri(rawPathname("https://h.example/v1/a\\b"))).toBe("/v1/a/b/");
  });

  it("drops whitespace at the end of the URL", () => {
    expect(canonicalUri(rawPathname("https://h.example/v1/ab \t\u00a0"))).toBe("/v1/ab/");
  });

  it("keeps whitespace inside the path", () => {
    expect(canonicalUri(rawPathname("https://h.example/v1/a b\u00a0c"))).toBe("/v1/a%2520b%C2%A0c/");
  });
});
