import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalBridge } from "../../lib/local/bridge";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";

const TEXT = { "content-type": "text/plain; charset=utf-8" };
const LINE_1 = "<134>May 14 11:07:11 fw01 CEF:0|ExampleCorp|EdgeFW|9.1|100234|Port scan|7|externalId=scan-1 src=198.51.100.90";
const LINE_2 = "CEF:0|ExampleCorp|EdgeFW|9.1|100235|Login burst|5|externalId=login-2 src=198.51.100.91";

describe("generic CEF source over text/plain", () => {
  let bridge: LocalBridge;

  beforeAll(async () => {
    bridge = await startTestBridge({
      env: {
        BRIDGE_GENERIC_MAPPINGS: "test/fixtures/generic/edge-fw-cef-mapping.json,test/fixtures/payloads/generic-mapping-config.json",
        BRIDGE_MAX_STRING_LENGTH: "400",
        BRIDGE_MAX_ALERTS_PER_DELIVERY: "3",
      },
    });
  });

  afterAll(async () => {
    await bridge?.close();
  });

  it("starts one alert for a raw CEF line", async () => {
    const answer = await postAlerts(bridge.url, "edge-fw", `${LINE_1}\n`, TEXT);

    expect(answer.status).toBe(200);
    expect(answer.json.results.map((result: { status: string }) => result.status)).toEqual(["created"]);
  });

  it("starts one alert per line", async () => {
    const answer = await postAlerts(bridge.url, "edge-fw", `${LINE_1}\r\n\r\n${LINE_2}\r\n`, TEXT);

    expect(answer.status).toBe(200);
    expect(answer.json.results.map((result: { status: string }) => result.status)).toEqual(["duplicate", "created"]);
  });

  it("names the line of a broken CEF event", async () => {
    const answer = await postAlerts(bridge.url, "edge-fw", `${LINE_2}\nCEF:0|V|P`, TEXT);

    expect(answer.status).toBe(422);
    expect(answer.json.code).toBe("BRIDGE.CEF_INVALID");
    expect(answer.json.field).toBe("[1]");
  });

  it("names a single line by index 0", async () => {
    const answer = await postAlerts(bridge.url, "edge-fw", "CEF:0|V|P|1|s|n|5|src=10.0.0.1\n", TEXT);

    expect(answer.status).toBe(422);
    expect(answer.json.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(answer.json.field).toBe("[0] (CEF externalId)");
  });

  it("rejects a line over the string limit", async () => {
    const answer = await postAlerts(bridge.url, "edge-fw", `${LINE_2}\n${LINE_2} msg=${"x".repeat(400)}`, TEXT);

    expect(answer.status).toBe(413);
    expect(answer.json.code).toBe("BRIDGE.JSON_STRING_TOO_LONG");
    expect(answer.json.field).toBe("[1]");
  });

  it("rejects more lines than alerts allowed", async () => {
    const answer = await postAlerts(bridge.url, "edge-fw", [LINE_2, LINE_2, LINE_2, LINE_2].join("\n"), TEXT);

    expect(answer.status).toBe(413);
    expect(answer.json.code).toBe("BRIDGE.TOO_MANY_ALERTS");
  });

  it("still rejects text/plain for a JSON generic source", async () => {
    const answer = await postAlerts(bridge.url, "custom-idp", "{}", TEXT);

    expect(answer.status).toBe(415);
    expect(answer.json.fix).toBe("send application/json encoded as UTF-8");
  });

  it("names text/plain among the accepted types of a CEF source", async () => {
    const answer = await postAlerts(bridge.url, "edge-fw", LINE_2, { "content-type": "application/xml" });

    expect(answer.status).toBe(415);
    expect(answer.json.fix).toBe("send application/json or text/plain encoded as UTF-8");
  });
});
