import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { alertSchema } from "../../lib/alert/schema";
import { alertSchemaFor, compileFields, resolveFields, setTarget } from "../../lib/sources/mapping";

describe("setTarget", () => {
  it("creates objects and lists on the way", () => {
    const content: Record<string, unknown> = { title: "x" };

    setTarget(content, ["network_list", 0, "src_ip"], "10.0.0.1");
    setTarget(content, ["network_list", 0, "dest_port"], "443");
    setTarget(content, ["user_info", 1, "user_name"], "root");

    expect(JSON.stringify(content)).toBe(
      '{"title":"x","network_list":[{"src_ip":"10.0.0.1","dest_port":"443"}],"user_info":[null,{"user_name":"root"}]}',
    );
  });

  it("replaces a value of the wrong kind", () => {
    const content: Record<string, unknown> = { data_source: "text", network_list: { a: 1 } };

    setTarget(content, ["data_source", "product_name"], "WAF");
    setTarget(content, ["network_list", 0, "protocol"], "tcp");

    expect(content).toStrictEqual({ data_source: { product_name: "WAF" }, network_list: [{ protocol: "tcp" }] });
  });

  it("keeps __proto__ as an own key", () => {
    const content: Record<string, unknown> = {};

    setTarget(content, ["system_info", "__proto__"], "x");

    const systemInfo = content.system_info as Record<string, unknown>;
    expect(Object.getPrototypeOf(systemInfo)).toBe(Object.prototype);
    expect(Object.keys(systemInfo)).toStrictEqual(["__proto__"]);
    expect(Object.getOwnPropertyDescriptor(systemInfo, "__proto__")?.value).toBe("x");
  });
});

describe("resolveFields", () => {
  const fields = compileFields(
    { title: "$.constructor", description: "$.__proto__", labels: { path: ["$.missing", "$.tags[1]"] }, source_url: "$.link.href" },
    (issue) => {
      throw new Error(issue.message);
    },
  );
  const options = {
    sourceId: "test",
    context: { receivedAt: new Date(0), unknownSeverity: () => "Low" as const },
    locator: { locate: (path: { text: string }) => path.text },
  };

  it("reads own properties only", () => {
    const item = JSON.parse('{"__proto__": "own", "tags": ["a", "b"], "link": {"href": "https://x.example"}}') as unknown;

    const resolved = resolveFields(item, fields, options);

    expect(resolved.values).toStrictEqual([undefined, "own", "b", "https://x.example"]);
    expect(resolved.paths.map((path) => path?.text)).toStrictEqual([undefined, "$.__proto__", "$.tags[1]", "$.link.href"]);
  });

  it("reads nothing from a non-object item", () => {
    const resolved = resolveFields(["x"], fields, options);

    expect(resolved.values).toStrictEqual([undefined, undefined, undefined, undefined]);
  });
});

describe("alertSchemaFor", () => {
  const contents: Record<string, unknown>[] = [
    { title: "t", severity: "High", count: 3, network_list: [{ src_ip: "10.0.0.1", src_port: 22 }], handle_status: "Open" },
    { handle_status: "Open", title: "key order differs", labels: "a=1", data_source: { source_type: 2, product_name: "X" } },
    { title: 5, severity: "Severe", count: -1 },
    { network_list: [{ src_port: 70000, dest_port: 443 }], user_info: [{ user_name: 1 }], first_observed_time: "x" },
    { system_info: { a: 1 }, count: 1.5 },
  ];

  it.each(contents)("checks %j as the Alert schema does", (content) => {
    const picked = alertSchemaFor(new Set(Object.keys(content))).safeParse(content);
    const whole = alertSchema.safeParse(content);

    expect(picked.success).toBe(whole.success);
    expect(JSON.stringify(picked.data)).toBe(JSON.stringify(whole.data));
    expect(picked.error?.issues).toStrictEqual(whole.error?.issues);
  });

  it("matches the Alert schema on random content", () => {
    const fieldNames = Object.keys(alertSchema.shape);
    const anyValue = fc.oneof(fc.string({ maxLength: 5 }), fc.integer({ min: -2, max: 70_000 }), fc.constantFrom("High", "Open", "Unknown", 2), fc.array(fc.dictionary(fc.constantFrom("src_ip", "src_port", "user_name", "x"), fc.oneof(fc.string({ maxLength: 3 }), fc.integer())), { maxLength: 2 }));
    const content = fc.dictionary(fc.constantFrom(...fieldNames), anyValue, { maxKeys: 6 });

    fc.assert(
      fc.property(content, fc.subarray(fieldNames), (value, extraFields) => {
        const picked = alertSchemaFor(new Set([...Object.keys(value), ...extraFields])).safeParse(value);
        const whole = alertSchema.safeParse(value);
        expect(JSON.stringify(picked.data)).toBe(JSON.stringify(whole.data));
        expect(picked.error?.issues).toStrictEqual(whole.error?.issues);
      }),
      { numRuns: 200 },
    );
  });
});
