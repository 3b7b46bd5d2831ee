import { describe, expect, it } from "vitest";
import { IPDRR_PHASES, SEVERITIES, alertSchema } from "../../lib/alert/schema";

describe("Alert schema", () => {
  it("spells the third IPDRR phase with a full-width comma", () => {
    expect(Buffer.from(IPDRR_PHASES[2], "utf8").toString("hex")).toBe(
      // "Contain" EF BC 8C "Eradication& Recovery"
      "436f6e7461696e" + "efbc8c" + "4572616469636174696f6e2620" + "5265636f76657279",
    );
  });

  it("lists severities lowest first", () => {
    expect(SEVERITIES).toEqual(["Tips", "Low", "Medium", "High", "Fatal"]);
  });

  it("accepts a complete alert", () => {
    const result = alertSchema.safeParse({
      title: "SSH brute force",
      severity: "High",
      handle_status: "Open",
      verification_state: "Unknown",
      ipdrr_phase: "Contain\uFF0CEradication& Recovery",
      network_list: [{ direction: "IN", src_ip: "198.51.100.23", src_port: 52811, dest_port: "22" }],
      process: [{ process_parent_name: "sshd", process_launche_time: "2024-05-14T08:02:11.482Z" }],
      data_source: { source_type: 2, product_name: "Alertmanager", company_name: "Prometheus" },
      count: 1,
      confidence: 80,
    });

    expect(result.success).toBe(true);
  });

  it.each([
    [{ severity: "high" }, "severity"],
    [{ ipdrr_phase: "Contain, Eradication & Recovery" }, "ipdrr_phase"],
    [{ network_list: [{ dest_port: 22 }] }, "network_list"],
    [{ network_list: [{ src_port: "22" }] }, "network_list"],
    [{ confidence: 101 }, "confidence"],
    [{ data_source: { source_type: 4 } }, "data_source"],
    [{ unknown_field: "x" }, ""],
  ])("rejects %j", (content, path) => {
    const result = alertSchema.safeParse(content);

    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path.join(".").startsWith(path)).toBe(true);
  });
});
