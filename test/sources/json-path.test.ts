import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, parseJsonPath, parseTargetPath, PathSyntaxError, quoteJsonString, readPath } from "../../lib/sources/json-path";

describe("parseJsonPath", () => {
  it.each([
    ["$", []],
    ["$.alert.uid", ["alert", "uid"]],
    ["$.items[0].name", ["items", 0, "name"]],
    ["$['key.with.dots'][12]", ["key.with.dots", 12]],
    ['$["a b"].c', ["a b", "c"]],
    ["$.用户.名字", ["用户", "名字"]],
    ["$.cs1Label", ["cs1Label"]],
  ])("parses %s", (text, segments) => {
    expect(parseJsonPath(text)).toEqual(segments);
  });

  it.each([
    ["alert.uid", 1],
    ["$.", 3],
    ["$..a", 3],
    ["$.a[", 5],
    ["$.a[-1]", 5],
    ["$.a[01]", 5],
    ["$.a['b]", 5],
    ["$.a b", 4],
    ["$a", 2],
  ])("rejects %s at column %i", (text, column) => {
    let error: unknown;
    try {
      parseJsonPath(text);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(PathSyntaxError);
    expect((error as PathSyntaxError).column).toBe(column);
  });
});

describe("parseTargetPath", () => {
  it("parses dotted targets with indexes", () => {
    expect(parseTargetPath("network_list[0].src_ip")).toEqual(["network_list", 0, "src_ip"]);
    expect(parseTargetPath("data_source.product_name")).toEqual(["data_source", "product_name"]);
    expect(parseTargetPath("title")).toEqual(["title"]);
  });

  it("rejects an empty or rooted target", () => {
    expect(() => parseTargetPath("")).toThrow(PathSyntaxError);
    expect(() => parseTargetPath("$.title")).toThrow(PathSyntaxError);
    expect(() => parseTargetPath(".title")).toThrow(PathSyntaxError);
  });
});

describe("readPath", () => {
  const document = { alert: { tags: ["a", "b"], level: 0, empty: null } };

  it("reads members and indexes", () => {
    expect(readPath(document, ["alert", "tags", 1])).toBe("b");
    expect(readPath(document, ["alert", "level"])).toBe(0);
    expect(readPath(document, ["alert", "empty"])).toBeNull();
    expect(readPath(document, [])).toBe(document);
  });

  it("returns undefined for missing or mistyped steps", () => {
    expect(readPath(document, ["alert", "tags", 2])).toBeUndefined();
    expect(readPath(document, ["alert", 0])).toBeUndefined();
    expect(readPath(document, ["alert", "tags", "length"])).toBeUndefined();
    expect(readPath("text", ["length"])).toBeUndefined();
  });

  it("ignores inherited properties", () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;

    expect(readPath({}, ["constructor"])).toBeUndefined();
    expect(readPath({}, ["toString"])).toBeUndefined();
    expect(readPath(parsed, ["__proto__", "polluted"])).toBe(true);
    expect(readPath(parsed, ["polluted"])).toBeUndefined();
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every level", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 0, y: null }], c: "x" } })).toBe('{"a":{"c":"x","d":[2,{"y":null,"z":0}]},"b":1}');
  });

  it("leaves out excluded paths", () => {
    const value = { keep: 1, drop: 2, nested: { drop: 3, keep: 4 }, list: [5, 6] };

    expect(canonicalJson(value, [["drop"], ["nested", "drop"], ["list", 0]])).toBe('{"keep":1,"list":[6],"nested":{"keep":4}}');
  });

  it("ignores key order of equal documents", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(record));
      }),
    );
  });

  it("round-trips through JSON.parse", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe("quoteJsonString", () => {
  it.each([
    ["plain", '"plain"'],
    ["", '""'],
    ['say "hi"', '"say \\"hi\\""'],
    ["back\\slash", '"back\\\\slash"'],
    ["tab\there", '"tab\\there"'],
    ["\u001f", '"\\u001f"'],
    ["lone \ud800 half", '"lone \\ud800 half"'],
    ["pair \u{1F600}", '"pair \u{1F600}"'],
    ["中文 é", '"中文 é"'],
  ])("quotes %j as JSON.stringify does", (value, expected) => {
    expect(quoteJsonString(value)).toBe(expected);
  });

  it("matches JSON.stringify for any UTF-16 string", () => {
    const anyText = fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) }));
    fc.assert(
      fc.property(anyText, (value) => {
        expect(quoteJsonString(value)).toBe(JSON.stringify(value));
      }),
      { numRuns: 500 },
    );
  });
});
