import { describe, expect, it } from "vitest";
import { compilePatternList, globToRegExp, patternListSchema } from "../../lib/routing/pattern";

function matcher(input: unknown) {
  return compilePatternList(patternListSchema.parse(input));
}

describe("routing patterns", () => {
  it("plain string matches exactly", () => {
    const exact = matcher("prod");

    expect(exact.test(["prod"])).toBe(true);
    expect(exact.test(["production"])).toBe(false);
    expect(exact.test(["Prod"])).toBe(false);
    expect(exact.test([])).toBe(false);
  });

  it("exact object matches glob characters literally", () => {
    const exact = matcher({ exact: "a*b" });

    expect(exact.test(["a*b"])).toBe(true);
    expect(exact.test(["axxb"])).toBe(false);
  });

  it("glob star and question mark", () => {
    const glob = matcher({ glob: "sec-*-?" });

    expect(glob.test(["sec-ops-1"])).toBe(true);
    expect(glob.test(["sec--1"])).toBe(true);
    expect(glob.test(["sec-ops-12"])).toBe(false);
    expect(glob.test(["xsec-ops-1"])).toBe(false);
  });

  it("glob treats regex characters literally", () => {
    const glob = matcher({ glob: "a.b+(c)|[d]/e*" });

    expect(glob.test(["a.b+(c)|[d]/e-anything"])).toBe(true);
    expect(glob.test(["aXb+(c)|[d]/e"])).toBe(false);
    expect(globToRegExp("x.y").test("xzy")).toBe(false);
  });

  it("regex must match the whole value", () => {
    const regex = matcher({ regex: "edge-[a-z]+" });

    expect(regex.test(["edge-eu"])).toBe(true);
    expect(regex.test(["edge-eu-1"])).toBe(false);
    expect(regex.test(["my-edge-eu"])).toBe(false);
  });

  it("regex alternation stays anchored", () => {
    const regex = matcher({ regex: "dev|prod" });

    expect(regex.test(["prod"])).toBe(true);
    expect(regex.test(["production"])).toBe(false);
    expect(regex.test(["predev"])).toBe(false);
  });

  it("regex flags", () => {
    expect(matcher({ regex: "prod", flags: "i" }).test(["PROD"])).toBe(true);
    expect(matcher({ regex: "prod" }).test(["PROD"])).toBe(false);
  });

  it("exists checks presence", () => {
    expect(matcher({ exists: true }).test(["x"])).toBe(true);
    expect(matcher({ exists: true }).test([])).toBe(false);
    expect(matcher({ exists: false }).test([])).toBe(true);
    expect(matcher({ exists: false }).test([""])).toBe(false);
  });

  it("list matches when any pattern matches", () => {
    const list = matcher(["a", { glob: "b*" }]);

    expect(list.test(["a"])).toBe(true);
    expect(list.test(["bee"])).toBe(true);
    expect(list.test(["c"])).toBe(false);
    expect(list.description).toBe('"a" or glob "b*"');
  });

  it("any value of several may match", () => {
    expect(matcher("b").test(["a", "b"])).toBe(true);
  });

  it("rejects invalid patterns", () => {
    expect(patternListSchema.safeParse({ regex: "(" }).success).toBe(false);
    expect(patternListSchema.safeParse({ regex: "a", flags: "g" }).success).toBe(false);
    expect(patternListSchema.safeParse({ regex: "a", flags: "ii" }).success).toBe(false);
    expect(patternListSchema.safeParse({ glob: "" }).success).toBe(false);
    expect(patternListSchema.safeParse({ glob: "a", regex: "b" }).success).toBe(false);
    expect(patternListSchema.safeParse([]).success).toBe(false);
    expect(patternListSchema.safeParse(3).success).toBe(false);
  });
});
