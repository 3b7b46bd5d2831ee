import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import { ContentPlan, leafCheckFor } from "../../lib/sources/content-plan";
import type { PathSegment } from "../../lib/sources/json-path";
import { setTarget } from "../../lib/sources/mapping";

describe("leafCheckFor", () => {
  it.each([
    [["title"], "t", true],
    [["title"], 5, false],
    [["count"], 3, true],
    [["count"], -1, false],
    [["count"], 1.5, false],
    [["severity"], "High", true],
    [["severity"], "high", false],
    [["network_list", 0, "src_port"], 65535, true],
    [["network_list", 0, "src_port"], 65536, false],
    [["data_source", "source_type"], 2, true],
    [["data_source", "source_type"], 4, false],
    [["id"], "x".repeat(36), true],
    [["id"], "x".repeat(37), false],
    [["network_list", 0, "src_geo", "latitude"], Number.NaN, false],
  ])("checks %j = %j as the schema does", (path, value, fits) => {
    const check = leafCheckFor(path);

    expect(check?.(value)).toBe(fits);
  });

  it.each([[["data_source"]], [["network_list"]], [["network_list", 0]], [["system_info", "key"]], [["resource_list", 0, "tags", "env"]]])(
    "leaves %j to the schema",
    (path) => {
      expect(leafCheckFor(path)).toBeUndefined();
    },
  );
});

describe("ContentPlan", () => {
  it("writes keys in the schema's order", () => {
    const plan = new ContentPlan([["title"], ["data_source", "product_name"], ["count"], ["data_source", "company_name"], ["labels"]]);
    const values: unknown[] = [];
    values[plan.slotOf(["title"])] = "t";
    values[plan.slotOf(["data_source", "product_name"])] = "P";
    values[plan.slotOf(["count"])] = 2;
    values[plan.slotOf(["data_source", "company_name"])] = "C";
    values[plan.slotOf(["labels"])] = "a=1";

    const content = plan.build(values);

    expect(JSON.stringify(content)).toBe('{"labels":"a=1","data_source":{"company_name":"C","product_name":"P"},"title":"t","count":2}');
  });

  it("leaves out empty objects and list items", () => {
    const plan = new ContentPlan([["title"], ["user_info", 0, "user_name"], ["user_info", 1, "user_id"], ["alert_type", "category"]]);
    const values: unknown[] = [];
    values[plan.slotOf(["user_info", 1, "user_id"])] = "u-1";

    expect(plan.build(values)).toStrictEqual({ user_info: [{ user_id: "u-1" }] });
    expect(plan.build([])).toStrictEqual({});
  });

  it("numbers slots in order of first appearance", () => {
    const plan = new ContentPlan([["title"], ["count"], ["title"], ["network_list", 2, "src_ip"]]);

    expect([plan.slotOf(["title"]), plan.slotOf(["count"]), plan.slotOf(["network_list", 2, "src_ip"])]).toStrictEqual([0, 1, 2]);
    expect(plan.slotCount).toBe(3);
  });

  it("builds list items beside a whole item target", () => {
    const plan = new ContentPlan([["network_list", 0], ["network_list", 1, "src_ip"]]);
    const values: unknown[] = [];
    values[plan.slotOf(["network_list", 1, "src_ip"])] = "10.0.0.1";

    expect(plan.build(values)).toStrictEqual({ network_list: [{ src_ip: "10.0.0.1" }] });
  });

  it("rejects a value at a record target", () => {
    const plan = new ContentPlan([["title"], ["system_info", "key"]]);
    const values: unknown[] = [];
    values[plan.slotOf(["system_info", "key"])] = "x";

    expect(() => plan.build(values)).toThrow("needs the Alert schema check");
  });

  it("builds what the schema returns for written targets", () => {
    // Scalar targets, with values that fit them, among which the plan must find the schema's order.
    const targets: [PathSegment[], fc.Arbitrary<unknown>][] = [
      [["title"], fc.string()],
      [["labels"], fc.string()],
      [["count"], fc.nat()],
      [["severity"], fc.constantFrom("Tips", "High")],
      [["first_observed_time"], fc.string()],
      [["data_source", "source_type"], fc.constantFrom(1, 2, 3)],
      [["data_source", "product_name"], fc.string()],
      [["data_source", "company_name"], fc.string()],
      [["alert_type", "alert_type"], fc.string()],
      [["network_list", 0, "src_ip"], fc.string()],
      [["network_list", 0, "src_port"], fc.integer({ min: 0, max: 65535 })],
      [["network_list", 1, "dest_ip"], fc.string()],
      [["network_list", 3, "src_geo", "latitude"], fc.double({ noNaN: true, noDefaultInfinity: true })],
      [["user_info", 0, "user_name"], fc.string()],
      [["user_info", 2, "user_id"], fc.string()],
      [["environment", "project_id"], fc.string()],
      [["handle_status"], fc.constantFrom("Open", "Closed")],
    ];
    const written = fc.shuffledSubarray(targets.map((_target, index) => index)).chain((indexes) =>
      fc.tuple(fc.constant(indexes), fc.tuple(...indexes.map((index) => (targets[index] as [PathSegment[], fc.Arbitrary<unknown>])[1]))),
    );
    const plan = new ContentPlan(targets.map(([path]) => path));

    fc.assert(
      fc.property(written, ([indexes, values]) => {
        const content: Record<string, unknown> = {};
        const slots: unknown[] = [];
        indexes.forEach((index, position) => {
          const path = (targets[index] as [PathSegment[], unknown])[0];
          setTarget(content, path, values[position]);
          slots[plan.slotOf(path)] = values[position];
        });
        for (const [key, value] of Object.entries(content)) {
          if (Array.isArray(value)) content[key] = value.filter((entry) => entry !== undefined);
        }

        expect(JSON.stringify(plan.build(slots))).toBe(JSON.stringify(alertSchema.parse(content)));
      }),
    );
  });
});
