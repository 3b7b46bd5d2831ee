import { afterEach, describe, expect, it, vi } from "vitest";
import { planDelivery, type DefaultTarget } from "../../lib/ingest";
import { splunkSource } from "../../lib/sources/splunk";
import type { SourceAdapter } from "../../lib/sources/types";
import { readJsonFixture } from "../helpers/fixtures";
import { captureLogOutput } from "../helpers/log-capture";

const TARGET: DefaultTarget = {
  projectId: "0000000000000000000000000000a001",
  workspaceId: "00000000-0000-4000-8000-00000000a0a1",
  workflowId: "00000000-0000-4000-8000-00000000a0f1",
  dataclass: { name: "Alert" },
};
const RECEIVED_AT = new Date("2024-05-14T16:00:00Z");
const SID = "scheduler__admin__search__RMD5e461c1b0a3c2f5a8_at_1715682000_4711";

function planSplunk(options: unknown, onUnknownSeverity?: (source: string, field: string) => void) {
  const request = { adapter: splunkSource as SourceAdapter<unknown>, body: readJsonFixture("payloads/splunk-once.json"), receivedAt: RECEIVED_AT, options };
  return planDelivery(request, { target: TARGET, defaultSeverity: "Low", onUnknownSeverity });
}

describe("planDelivery", () => {
  it("reports a missing severity and uses the default", () => {
    const calls: string[][] = [];

    const plans = planSplunk(undefined, (source, field) => calls.push([source, field]));

    expect(calls).toStrictEqual([["splunk", "result.severity"]]);
    expect(plans[0]?.job.content.severity).toBe("Low");
  });

  it("passes the source options to the adapter", () => {
    const plans = planSplunk({ trigger: "once" });

    expect(plans[0]?.job.alertKey).toBe(SID);
  });

  it("plans the default target for a firing alert", () => {
    const plans = planSplunk(undefined);

    expect(plans).toHaveLength(1);
    expect(plans[0]?.skipReason).toBeUndefined();
    expect(plans[0]?.job.workflowId).toBe("00000000-0000-4000-8000-00000000a0f1");
    expect(plans[0]?.job.alertKey).toBe(`${SID}#b482639f6bd17bff0c83e962957b4115b8397f1603a2e8671d563ea1d9bfe973`);
    expect(plans[0]?.job.content.create_time).toBe("2024-05-14T16:00:00.000Z");
  });
});

describe("unknown severity warning", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function warningsIn(text: string): Record<string, unknown>[] {
    return text
      .split("\n")
      .filter((line) => line.includes('"unknown severity value, using the default"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it("is logged once a minute per field while every alert is counted", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    // Far from any earlier test's warning, so the first call below logs (with the count of
    // earlier tests' left-out warnings, which this test does not check).
    vi.setSystemTime(new Date("2030-01-01T00:00:00Z"));
    const counted: string[] = [];
    const capture = captureLogOutput();
    try {
      for (let index = 0; index < 3; index++) planSplunk(undefined, (_source, field) => counted.push(field));
      vi.setSystemTime(new Date("2030-01-01T00:01:00Z"));
      planSplunk(undefined, (_source, field) => counted.push(field));
    } finally {
      capture.restore();
    }

    const warnings = warningsIn(capture.text());
    expect(counted).toHaveLength(4);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatchObject({ field: "result.severity", sameWarningsSinceLast: 2 });
  });
});
