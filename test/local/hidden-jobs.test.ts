import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openLocalQueues } from "../../lib/delivery/local-queue";
import { startLocalBridge, type LocalBridge } from "../../lib/local/bridge";
import { captureLogOutput } from "../helpers/log-capture";

let dataDir: string | undefined;
let bridge: LocalBridge | undefined;

afterEach(async () => {
  await bridge?.close();
  bridge = undefined;
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

describe("local bridge start", () => {
  it("names jobs a stopped bridge had received", async () => {
    // A bridge killed after receiving a job leaves it hidden until its visibility timeout ends.
    dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-hidden-"));
    const { queue } = openLocalQueues(dataDir, 5);
    await queue.send([
      { id: "a", body: "job of a killed bridge" },
      { id: "b", body: "job never received" },
    ]);
    await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 60_000 });
    const logs = captureLogOutput();

    try {
      bridge = await startLocalBridge({ port: 0, emulatorPort: 0, dataDir, env: { BRIDGE_MODE: "queue" } });
    } finally {
      logs.restore();
    }

    const line = logs
      .text()
      .split("\n")
      .find((text) => text.includes("queued jobs wait for their visibility timeout"));
    expect(line).toBeDefined();
    const entry = JSON.parse(line!) as { level: string; queuedJobs: number; waitingJobs: number; inSeconds: number };
    expect(entry.level).toBe("INFO");
    expect(entry.queuedJobs).toBe(2);
    expect(entry.waitingJobs).toBe(1);
    expect(entry.inSeconds).toBeGreaterThan(50);
    expect(entry.inSeconds).toBeLessThanOrEqual(60);
  });
});
