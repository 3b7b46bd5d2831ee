import { describe, expect, it } from "vitest";
import { setTarget } from "../../lib/sources/mapping";

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
