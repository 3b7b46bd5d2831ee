import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { compact, mergeObjects, objectOf } from "../../lib/sources/shapes";

describe("compact", () => {
  it("drops empty values at every depth", () => {
    const input = {
      title: "Disk full",
      description: "",
      owner: null,
      actor: undefined,
      count: 0,
      simulation: false,
      network_list: [{ src_ip: "", dest_ip: null }, { src_ip: "10.0.0.1", dest_port: undefined }, null, "", []],
      resource_list: [],
      data_source: { product_name: undefined, company_name: "" },
      alert_type: { category: { nested: [{}] }, alert_type: "scan" },
    };

    const output = compact(input);

    expect(JSON.stringify(output)).toBe(
      '{"title":"Disk full","count":0,"simulation":false,"network_list":[{"src_ip":"10.0.0.1"}],"alert_type":{"alert_type":"scan"}}',
    );
  });

  it("keeps key order", () => {
    expect(Object.keys(compact({ b: "1", a: "", c: "3", d: { z: "1", y: "2" } }))).toStrictEqual(["b", "c", "d"]);
  });

  it("returns undefined for an empty object", () => {
    expect(compact({ a: "", b: [null], c: {} })).toBeUndefined();
  });

  it("keeps __proto__ as an own key", () => {
    const input = JSON.parse('{"tags":{"__proto__":{"polluted":"yes"},"name":"web"}}') as Record<string, unknown>;

    const output = compact(input) as { tags: Record<string, unknown> };

    expect(Object.getPrototypeOf(output.tags)).toBe(Object.prototype);
    expect(Object.keys(output.tags)).toStrictEqual(["__proto__", "name"]);
    expect(Object.getOwnPropertyDescriptor(output.tags, "__proto__")?.value).toStrictEqual({ polluted: "yes" });
    expect((output.tags as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it("skips holes of sparse arrays", () => {
    const sparse: unknown[] = [];
    sparse[2] = "x";

    expect(compact({ list: sparse })).toStrictEqual({ list: ["x"] });
  });

  it("copies rather than reuses objects", () => {
    const inner = { name: "web" };
    const input = { resource: inner, list: [inner] };

    const output = compact(input);

    expect(output.resource).not.toBe(inner);
    expect(output.list[0]).not.toBe(inner);
    expect(output.resource).toStrictEqual({ name: "web" });
  });
});

describe("mergeObjects", () => {
  it("keeps first keys in place and appends new ones", () => {
    const output = mergeObjects({ a: "1", b: "2", c: "3" }, { d: "4", b: "20" });

    expect(JSON.stringify(output)).toBe('{"a":"1","b":"20","c":"3","d":"4"}');
  });

  it("copies undefined values as keys", () => {
    expect(Object.keys(mergeObjects({ a: undefined }, { b: undefined }))).toStrictEqual(["a", "b"]);
  });

  it("keeps __proto__ as an own key", () => {
    const labels = JSON.parse('{"__proto__":"x","job":"node"}') as Record<string, string>;

    const output = mergeObjects(labels, { orgId: "1" });

    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect(Object.keys(output)).toStrictEqual(["__proto__", "job", "orgId"]);
  });

  it("returns a new object", () => {
    const first = { a: "1" };

    expect(mergeObjects(first, {})).not.toBe(first);
  });
});

// Only the wording of a non-object differs between the two: "object" in place of "record".
function recordWording(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_type" || issue.path.length > 0) return issue;
  return { ...issue, expected: "record", message: issue.message.replace("expected object", "expected record") };
}

describe("objectOf", () => {
  const labelValue = z.union([z.string(), z.array(z.string())]);
  const asObject = objectOf(labelValue);
  const asRecord = z.record(z.string(), labelValue);

  it("parses a label set as z.record does", () => {
    const input = JSON.parse('{"2":"b","1":"a","zone":"dmz","__proto__":"x","tags":["p","q"]}') as unknown;

    const output = asObject.parse(input);

    expect(output).toStrictEqual(asRecord.parse(input));
    expect(Object.keys(output)).toStrictEqual(["1", "2", "zone", "tags"]);
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
  });

  it("reports a bad value at its key", () => {
    const result = asObject.safeParse({ zone: "dmz", count: 5 });

    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toStrictEqual([["count"]]);
    expect(result.error?.issues[0]?.code).toBe("invalid_union");
  });

  it("reads a non-object as expected object", () => {
    for (const input of ["text", ["a"], null, 5]) {
      const issues = asObject.safeParse(input).error?.issues;

      expect(issues).toHaveLength(1);
      expect(issues?.[0]?.message).toMatch(/^Invalid input: expected object, received /);
    }
  });

  it("matches z.record on any JSON value", () => {
    // Values come from JSON.parse so that keys such as __proto__ are own data properties, as in a delivery.
    const jsonValue = fc.jsonValue().map((value) => JSON.parse(JSON.stringify(value)) as unknown);
    const labelLike = fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.array(fc.string()), fc.integer(), fc.constant(null)));
    fc.assert(
      fc.property(fc.oneof(jsonValue, labelLike), (input) => {
        const fromObject = asObject.safeParse(input);
        const fromRecord = asRecord.safeParse(input);

        expect(fromObject.success).toBe(fromRecord.success);
        if (fromObject.success && fromRecord.success) {
          expect(fromObject.data).toStrictEqual(fromRecord.data);
          expect(Object.keys(fromObject.data)).toStrictEqual(Object.keys(fromRecord.data));
        } else {
          const withRecordWording = (fromObject.error?.issues ?? []).map(recordWording);
          expect(JSON.stringify(withRecordWording)).toBe(JSON.stringify(fromRecord.error?.issues));
        }
      }),
      { numRuns: 500 },
    );
  });
});
