import { Buffer } from "node:buffer";
import { InvalidInputError } from "./errors";
import { formatPath } from "./sources/parse";

/** Bounds on one delivery, checked before and while the body is parsed. */
export interface DeliveryLimits {
  /** Largest accepted body after base64 decoding, in bytes. @default 5242880 */
  maxBodyBytes: number;
  /** Deepest accepted nesting of JSON objects and arrays. @default 64 */
  maxJsonDepth: number;
  /** Most object keys in one body, counted over every nesting level. @default 100000 */
  maxJsonKeys: number;
  /** Longest accepted JSON string or form value, in UTF-16 code units as sent (escapes count in full). @default 1048576 */
  maxStringLength: number;
  /** Most alerts one delivery may split into. @default 1000 */
  maxAlertsPerDelivery: number;
}

/** Defaults of {@link DeliveryLimits}; the 500-alert Alertmanager storm sample (about 350 KB) fits well inside them. */
export const DEFAULT_DELIVERY_LIMITS: Readonly<DeliveryLimits> = {
  maxBodyBytes: 5 * 1024 * 1024,
  maxJsonDepth: 64,
  maxJsonKeys: 100_000,
  maxStringLength: 1024 * 1024,
  maxAlertsPerDelivery: 1000,
};

/**
 * Object keys that are rejected anywhere in a body. `JSON.parse` stores them as own properties, but
 * code that later merges or walks the object can reach `Object.prototype` through them.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Returns the raw body bytes of an API Gateway event, decoding `isBase64Encoded` bodies first.
 *
 * @throws InvalidInputError `BRIDGE.BODY_NOT_BASE64` (400) when a body marked as base64 is not,
 *   `BRIDGE.BODY_TOO_LARGE` (413) when the decoded body is over `maxBodyBytes`.
 */
export function decodeEventBody(event: { body?: string | undefined; isBase64Encoded?: boolean }, maxBodyBytes: number): Buffer {
  if (event.body === undefined || event.body === "") return Buffer.alloc(0);
  let bytes: Buffer;
  if (event.isBase64Encoded === true) {
    const compact = event.body.replace(/\s+/g, "");
    if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
      throw new InvalidInputError("BRIDGE.BODY_NOT_BASE64", "request body is marked as base64 but is not valid base64", {
        statusCode: 400,
        field: "(body)",
        fix: "send the body as sent by the sender; only API Gateway sets isBase64Encoded",
      });
    }
    bytes = Buffer.from(compact, "base64");
  } else {
    bytes = Buffer.from(event.body, "utf8");
  }
  if (bytes.length > maxBodyBytes) {
    throw new InvalidInputError("BRIDGE.BODY_TOO_LARGE", `request body is ${bytes.length} bytes; the limit is ${maxBodyBytes}`, {
      statusCode: 413,
      field: "(body)",
      fix: "split the delivery (for Alertmanager lower max_alerts) or raise BRIDGE_MAX_BODY_BYTES",
    });
  }
  return bytes;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Decodes body bytes as UTF-8, dropping a leading byte order mark.
 *
 * @throws InvalidInputError `BRIDGE.BODY_EMPTY` (400) for an empty or blank body and
 *   `BRIDGE.BODY_NOT_UTF8` (400) for bytes that are not valid UTF-8.
 */
export function decodeUtf8Body(bytes: Uint8Array): string {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch (error) {
    throw new InvalidInputError("BRIDGE.BODY_NOT_UTF8", "request body is not valid UTF-8", {
      statusCode: 400,
      field: "(body)",
      fix: "encode the body as UTF-8",
      cause: error,
    });
  }
  if (text.trim() === "") {
    throw new InvalidInputError("BRIDGE.BODY_EMPTY", "request body is empty", {
      statusCode: 400,
      field: "(body)",
      fix: "send the alert delivery as a JSON body",
    });
  }
  return text;
}

type JsonLimits = Pick<DeliveryLimits, "maxJsonDepth" | "maxJsonKeys" | "maxStringLength">;

/**
 * Parses JSON text after checking it against the limits in one linear pass, so a hostile body is
 * rejected before `JSON.parse` builds it.
 *
 * @throws InvalidInputError `BRIDGE.JSON_TOO_DEEP` (422), `BRIDGE.JSON_TOO_MANY_KEYS` (413),
 *   `BRIDGE.JSON_STRING_TOO_LONG` (413), `BRIDGE.JSON_KEY_FORBIDDEN` (422) naming the JSON path,
 *   or `BRIDGE.BODY_NOT_JSON` (400) for text that is not JSON.
 */
export function parseJsonWithLimits(text: string, limits: JsonLimits): unknown {
  scanJson(text, limits);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidInputError("BRIDGE.BODY_NOT_JSON", `request body is not valid JSON: ${(error as Error).message.slice(0, 160)}`, {
      statusCode: 400,
      field: "(body)",
      fix: "send a JSON body with Content-Type: application/json",
      cause: error,
    });
  }
}

interface Container {
  kind: "object" | "array";
  /** Key being read in an object, or index in an array, for error paths. */
  segment: string | number | undefined;
  expectKey: boolean;
}

// Tracks nesting, keys and string lengths without building values. Syntax errors are left to
// JSON.parse, which reports them with a position.
function scanJson(text: string, limits: JsonLimits): void {
  const stack: Container[] = [];
  let keys = 0;
  const path = () => stack.map((container) => container.segment ?? "?");

  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 0x22 /* " */) {
      const end = stringEnd(text, index);
      const length = end - index - 1;
      const top = stack.at(-1);
      if (length > limits.maxStringLength) {
        throw new InvalidInputError("BRIDGE.JSON_STRING_TOO_LONG", `a JSON string is ${length} characters long; the limit is ${limits.maxStringLength}`, {
          statusCode: 413,
          field: formatPath(path()),
          fix: "shorten the field or raise BRIDGE_MAX_STRING_LENGTH",
        });
      }
      if (top?.kind === "object" && top.expectKey) {
        keys += 1;
        if (keys > limits.maxJsonKeys) {
          throw new InvalidInputError("BRIDGE.JSON_TOO_MANY_KEYS", `the body has more than ${limits.maxJsonKeys} object keys`, {
            statusCode: 413,
            field: formatPath(path()),
            fix: "split the delivery or raise BRIDGE_MAX_JSON_KEYS",
          });
        }
        top.segment = decodeKey(text.slice(index, end + 1));
        top.expectKey = false;
        rejectForbiddenKey(top.segment, path());
      }
      index = end;
    } else if (code === 0x7b /* { */ || code === 0x5b /* [ */) {
      const kind = code === 0x7b ? "object" : "array";
      stack.push({ kind, segment: kind === "array" ? 0 : undefined, expectKey: kind === "object" });
      if (stack.length > limits.maxJsonDepth) {
        throw new InvalidInputError("BRIDGE.JSON_TOO_DEEP", `JSON nesting is deeper than ${limits.maxJsonDepth} levels`, {
          statusCode: 422,
          field: formatPath(path().slice(0, limits.maxJsonDepth)),
          fix: "flatten the payload or raise BRIDGE_MAX_JSON_DEPTH",
        });
      }
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      stack.pop();
    } else if (code === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.kind === "object") top.expectKey = true;
      else if (top?.kind === "array") top.segment = (top.segment as number) + 1;
    }
  }
}

// Index of the closing quote of the string starting at `start`, or the text length when the
// string is not closed (JSON.parse then reports it).
function stringEnd(text: string, start: number): number {
  for (let index = start + 1; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 0x5c /* \ */) index += 1;
    else if (code === 0x22) return index;
  }
  return text.length;
}

function decodeKey(token: string): string {
  if (!token.includes("\\")) return token.slice(1, -1);
  try {
    return JSON.parse(token) as string;
  } catch {
    return token.slice(1, -1);
  }
}

function rejectForbiddenKey(key: string, path: readonly PropertyKey[]): void {
  if (!FORBIDDEN_KEYS.has(key)) return;
  throw new InvalidInputError("BRIDGE.JSON_KEY_FORBIDDEN", `the key ${JSON.stringify(key)} is not accepted in a delivery`, {
    statusCode: 422,
    field: formatPath(path),
    fix: "rename the key; __proto__, constructor and prototype are rejected because they can alter object prototypes",
  });
}

/**
 * Parses an `application/x-www-form-urlencoded` body (Datadog's "Encode as form") into an object
 * of strings, under the same key, string and forbidden-key rules as JSON. A repeated field
 * becomes an array of its values in order.
 */
export function parseFormWithLimits(text: string, limits: JsonLimits): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = {};
  let keys = 0;
  for (const [name, value] of new URLSearchParams(text)) {
    rejectForbiddenKey(name, [name]);
    if (value.length > limits.maxStringLength) {
      throw new InvalidInputError("BRIDGE.JSON_STRING_TOO_LONG", `a form value is ${value.length} characters long; the limit is ${limits.maxStringLength}`, {
        statusCode: 413,
        field: name,
        fix: "shorten the field or raise BRIDGE_MAX_STRING_LENGTH",
      });
    }
    if (!Object.hasOwn(fields, name)) {
      keys += 1;
      if (keys > limits.maxJsonKeys) {
        throw new InvalidInputError("BRIDGE.JSON_TOO_MANY_KEYS", `the form has more than ${limits.maxJsonKeys} fields`, {
          statusCode: 413,
          field: name,
          fix: "send fewer fields or raise BRIDGE_MAX_JSON_KEYS",
        });
      }
      fields[name] = value;
    } else {
      const previous = fields[name]!;
      fields[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
    }
  }
  return fields;
}

/**
 * Rejects a delivery that split into more alerts than allowed, before anything is started.
 *
 * @throws InvalidInputError `BRIDGE.TOO_MANY_ALERTS` (413).
 */
export function checkAlertCount(count: number, maxAlertsPerDelivery: number): void {
  if (count <= maxAlertsPerDelivery) return;
  throw new InvalidInputError("BRIDGE.TOO_MANY_ALERTS", `the delivery contains ${count} alerts; the limit is ${maxAlertsPerDelivery}`, {
    statusCode: 413,
    field: "(body)",
    fix: "send fewer alerts per delivery (for Alertmanager lower max_alerts) or raise BRIDGE_MAX_ALERTS_PER_DELIVERY",
  });
}
