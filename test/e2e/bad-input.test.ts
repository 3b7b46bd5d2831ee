import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalBridge } from "../../lib/local/bridge";
import { readFixture } from "../helpers/fixtures";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";

describe("bad input", () => {
  let bridge: LocalBridge;

  beforeAll(async () => {
    bridge = await startTestBridge({ env: { BRIDGE_MAX_BODY_BYTES: "4096" } });
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("answers a non-JSON body with 400", async () => {
    const answer = await postAlerts(bridge.url, "alertmanager", "{not json");

    expect(answer.status).toBe(400);
    expect(answer.contentType).toBe("application/problem+json");
    expect(answer.json.code).toBe("BRIDGE.BODY_NOT_JSON");
    expect(answer.json.type).toBe("urn:secmaster-bridge:problem:body-not-json");
    expect(answer.json.fix).toMatch(/JSON/);
  });

  it("answers an unknown source with 404", async () => {
    const answer = await postAlerts(bridge.url, "no-such-tool", "{}");

    expect(answer.status).toBe(404);
    expect(answer.contentType).toBe("application/problem+json");
    expect(answer.json.code).toBe("BRIDGE.SOURCE_UNKNOWN");
    expect(answer.json.field).toBe("path.source");
  });

  it("answers a body over the limit with 413", async () => {
    const answer = await postAlerts(bridge.url, "alertmanager", JSON.stringify({ padding: "x".repeat(5000) }));

    expect(answer.status).toBe(413);
    expect(answer.contentType).toBe("application/problem+json");
    expect(answer.json.code).toBe("BRIDGE.BODY_TOO_LARGE");
  });

  it("answers a schema failure with 422 naming the path", async () => {
    const group = JSON.parse(readFixture("payloads/alertmanager-firing-group.json"));
    group.alerts[1].startsAt = 42;

    const answer = await postAlerts(bridge.url, "alertmanager", JSON.stringify(group));

    expect(answer.status).toBe(422);
    expect(answer.contentType).toBe("application/problem+json");
    expect(answer.json.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(answer.json.field).toBe("alerts[1].startsAt");
  });

  it("answers an empty alert list with 200 and no results", async () => {
    const group = JSON.parse(readFixture("payloads/alertmanager-firing-group.json"));
    group.alerts = [];

    const answer = await postAlerts(bridge.url, "alertmanager", JSON.stringify(group));

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ results: [] });
  });

  it("creates no instance for any of them", () => {
    expect(bridge.emulator!.instances()).toHaveLength(0);
  });
});
