import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BridgeError } from "../lib/errors";
import { checkAlertCount, decodeEventBody, decodeUtf8Body, parseFormWithLimits, parseJsonWithLimits } from "../lib/limits";

const LIMITS = { maxJsonDepth: 8, maxJsonKeys: 20, maxStringLength: 32 };

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof BridgeError) return error.code;
    throw error;
  }
  return undefined;
}

function fieldOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof BridgeError) return error.field;
    throw error;
  }
  return undefined;
}

describe("event body decoding", () => {
  it("decodes a base64 body", () => {
    expect(decodeEventBody({ body: "eyJhIjoxfQ==", isBase64Encoded: true }, 100).toString("utf8")).toBe('{"a":1}');
  });

  it("rejects a body marked base64 that is not", () => {
    expect(codeOf(() => decodeEventBody({ body: "{not base64}", isBase64Encoded: true }, 100))).toBe("BRIDGE.BODY_NOT_BASE64");
    expect(codeOf(() => decodeEventBody({ body: "abc", isBase64Encoded: true }, 100))).toBe("BRIDGE.BODY_NOT_BASE64");
  });

  it("measures the size after decoding", () => {
    expect(codeOf(() => decodeEventBody({ body: Buffer.alloc(101).toString("base64"), isBase64Encoded: true }, 100))).toBe("BRIDGE.BODY_TOO_LARGE");
    expect(decodeEventBody({ body: Buffer.alloc(100).toString("base64"), isBase64Encoded: true }, 100)).toHaveLength(100);
  });

  it("rejects invalid UTF-8 and blank bodies", () => {
    expect(codeOf(() => decodeUtf8Body(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])))).toBe("BRIDGE.BODY_NOT_UTF8");
    expect(codeOf(() => decodeUtf8Body(Buffer.from("  \n")))).toBe("BRIDGE.BODY_EMPTY");
  });

  it("drops a UTF-8 byte order mark", () => {
    expect(decodeUtf8Body(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toBe("{}");
  });
});

describe("JSON limits", () => {
  it("parses JSON within the limits", () => {
    expect(parseJsonWithLimits('{"a":[1,{"b":"x"}],"c":"\\"}"}', LIMITS)).toEqual({ a: [1, { b: "x" }], c: '"}' });
  });

  it("names the path of the first violation", () => {
    expect(fieldOf(() => parseJsonWithLimits('{"a":[1,{"b":"' + "x".repeat(33) + '"}]}', LIMITS))).toBe("a[1].b");
    expect(fieldOf(() => parseJsonWithLimits('{"a":{"constructor":{}}}', LIMITS))).toBe("a.constructor");
  });

  it("counts nesting over objects and arrays", () => {
    expect(codeOf(() => parseJsonWithLimits('{"a":[[[[[[[[1]]]]]]]]}', LIMITS))).toBe("BRIDGE.JSON_TOO_DEEP");
    expect(parseJsonWithLimits('{"a":[[[[[[[1]]]]]]]}', LIMITS)).toEqual({ a: [[[[[[[1]]]]]]] });
  });

  it("counts keys over every level", () => {
    const body = JSON.stringify({ a: Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`k${index}`, index])) });

    expect(codeOf(() => parseJsonWithLimits(body, LIMITS))).toBe("BRIDGE.JSON_TOO_MANY_KEYS");
  });

  it("rejects prototype keys however they are escaped", () => {
    expect(codeOf(() => parseJsonWithLimits('{"__proto__":{"x":1}}', LIMITS))).toBe("BRIDGE.JSON_KEY_FORBIDDEN");
    expect(codeOf(() => parseJsonWithLimits('{"\\u005F\\u005Fproto\\u005F\\u005F":1}', LIMITS))).toBe("BRIDGE.JSON_KEY_FORBIDDEN");
    expect(codeOf(() => parseJsonWithLimits('[{"prototype":1}]', LIMITS))).toBe("BRIDGE.JSON_KEY_FORBIDDEN");
    expect(parseJsonWithLimits('{"text":"__proto__"}', LIMITS)).toEqual({ text: "__proto__" });
  });

  it("leaves Object.prototype untouched", () => {
    expect(codeOf(() => parseJsonWithLimits('{"__proto__":{"polluted":true}}', LIMITS))).toBe("BRIDGE.JSON_KEY_FORBIDDEN");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("fails only with bridge codes on any input", () => {
    const known = new Set([undefined, "BRIDGE.BODY_NOT_JSON", "BRIDGE.JSON_TOO_DEEP", "BRIDGE.JSON_TOO_MANY_KEYS", "BRIDGE.JSON_STRING_TOO_LONG", "BRIDGE.JSON_KEY_FORBIDDEN"]);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        expect(known.has(codeOf(() => parseJsonWithLimits(text, LIMITS)))).toBe(true);
      }),
    );
  });
});

describe("form limits", () => {
  it("turns fields into strings and repeats into arrays", () => {
    expect(parseFormWithLimits("id=1&tags=a&tags=b&toString=x", LIMITS)).toEqual({ id: "1", tags: ["a", "b"], toString: "x" });
  });

  it("applies the key, string and forbidden-key rules", () => {
    expect(codeOf(() => parseFormWithLimits("constructor=1", LIMITS))).toBe("BRIDGE.JSON_KEY_FORBIDDEN");
    expect(codeOf(() => parseFormWithLimits(`a=${"x".repeat(33)}`, LIMITS))).toBe("BRIDGE.JSON_STRING_TOO_LONG");
    expect(codeOf(() => parseFormWithLimits(Array.from({ length: 21 }, (_, index) => `k${index}=1`).join("&"), LIMITS))).toBe("BRIDGE.JSON_TOO_MANY_KEYS");
  });
});

describe("alert count", () => {
  it("allows the limit and rejects one more", () => {
    expect(codeOf(() => checkAlertCount(50, 50))).toBeUndefined();
    expect(codeOf(() => checkAlertCount(51, 50))).toBe("BRIDGE.TOO_MANY_ALERTS");
  });
});
