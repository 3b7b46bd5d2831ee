import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngestHandler } from "../../functions/ingest";
import type { LocalBridge } from "../../lib/local/bridge";
import { startLocalHttpServer, type LocalHttpServer } from "../../lib/local/http-server";
import { readFixture } from "../helpers/fixtures";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";
import { captureLogOutput, type LogCapture } from "../helpers/log-capture";

// One firing alert, so that each delivery makes one start.
function oneAlertDelivery(): string {
  const group = JSON.parse(readFixture("payloads/alertmanager-firing-group.json")) as { alerts: unknown[] };
  group.alerts = group.alerts.slice(0, 1);
  return JSON.stringify(group);
}

/** Serves the bridge's ingest handler with invocations of 2 s, so that its starts are aborted 1 s in. */
function startShortInvocationServer(bridge: LocalBridge): Promise<LocalHttpServer> {
  return startLocalHttpServer({
    host: "127.0.0.1",
    port: 0,
    ingest: createIngestHandler(() => bridge.runtime),
    maxReadBytes: 1_000_000,
    functionTimeoutMs: 2_000,
  });
}

describe("direct mode near the invocation's end", () => {
  let bridge: LocalBridge;
  let server: LocalHttpServer;
  let logs: LogCapture;

  beforeAll(async () => {
    bridge = await startTestBridge();
    server = await startShortInvocationServer(bridge);
    logs = captureLogOutput();
  });
  afterAll(async () => {
    logs.restore();
    await server.close();
    await bridge.close();
  });

  it("returns 502 with results before the end", async () => {
    // SecMaster stores the instance and sends no response, so the outcome is unknown to the bridge.
    bridge.emulator!.setFaults({ script: ["accept-timeout"] });
    const startedMs = Date.now();

    const response = await postAlerts(server.url, "alertmanager", oneAlertDelivery());
    const elapsedMs = Date.now() - startedMs;

    // It used to run into the invocation's end and return 500 BRIDGE.INTERNAL without results.
    expect(response.status).toBe(502);
    expect(response.contentType).toBe("application/problem+json");
    expect(response.json.code).toBe("BRIDGE.START_FAILED");
    expect(response.json.results).toHaveLength(1);
    expect(response.json.results[0].status).toBe("failed");
    expect(response.json.results[0].reason).toContain("aborted by the caller");
    expect(elapsedMs).toBeLessThan(2_000);
    expect(bridge.emulator!.stats().created).toBe(1);
  });

  it("looks the instance up when the sender repeats the delivery", async () => {
    bridge.emulator!.setFaults({});

    const repeat = await postAlerts(server.url, "alertmanager", oneAlertDelivery());

    expect(repeat.status).toBe(200);
    expect(repeat.json.results.map((result: { status: string }) => result.status)).toEqual(["duplicate"]);
    expect(bridge.emulator!.stats().created).toBe(1);
    // Found by a look-up: no second post reached SecMaster.
    expect(bridge.emulator!.stats().duplicateAttempts).toBe(0);
  });
});

describe("direct mode with starts waiting past the deadline", () => {
  let bridge: LocalBridge;
  let server: LocalHttpServer;

  beforeAll(async () => {
    // One start at a time, so that the later alerts wait for the first, whose response is lost.
    bridge = await startTestBridge({ env: { BRIDGE_DISPATCH_CONCURRENCY: "1" } });
    server = await startShortInvocationServer(bridge);
  });
  afterAll(async () => {
    await server.close();
    await bridge.close();
  });

  it("reports them as aborted warnings", async () => {
    bridge.emulator!.setFaults({ script: ["accept-timeout"] });
    const logs = captureLogOutput();

    let response: Awaited<ReturnType<typeof postAlerts>>;
    try {
      response = await postAlerts(server.url, "alertmanager", readFixture("payloads/alertmanager-firing-group.json"));
    } finally {
      logs.restore();
    }

    expect(response.status).toBe(502);
    expect(response.json.results.map((result: { code: string }) => result.code)).toEqual([
      "BRIDGE.SECMASTER_UNREACHABLE",
      "BRIDGE.START_ABORTED",
      "BRIDGE.START_ABORTED",
    ]);
    const levels = logs
      .text()
      .split("\n")
      .filter((line) => line.includes('"message":"failed to start workflow instance"'))
      .map((line) => (JSON.parse(line) as { level: string; code: string }).level);
    expect(levels).toEqual(["ERROR", "WARN", "WARN"]);
    // Only the first alert reached SecMaster.
    expect(bridge.emulator!.stats().requests).toBe(1);
  });
});
