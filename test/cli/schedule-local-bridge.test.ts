import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { scheduleCommand } from "../../lib/cli/schedule";
import { startLocalBridge, type LocalBridge } from "../../lib/local/bridge";

const SCHEDULES = "test/fixtures/schedule/schedules.yaml";
// A workflow id of the bridge's own settings, not the emulator's default one.
const BRIDGE_WORKFLOW = "00000000-0000-4000-8000-00000000f0f0";

let bridge: LocalBridge | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  await bridge?.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe("schedule run against a running local bridge", () => {
  it("plans the job for the bridge's workflow", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-schedule-local-"));
    bridge = await startLocalBridge({ port: 0, emulatorPort: 0, dataDir, env: { BRIDGE_MODE: "direct", SECMASTER_WORKFLOW_ID: BRIDGE_WORKFLOW } });
    const err = new PassThrough();
    err.resume();
    const out = new PassThrough();
    out.resume();

    const code = await scheduleCommand(
      ["run", "nightly-posture", "--direct", "--data-dir", dataDir, "--schedules", SCHEDULES, "--at", "2026-01-15T18:00:00Z"],
      { out, err },
      {},
    );

    expect(code).toBe(0);
    expect(bridge.emulator!.instances().map((instance) => instance.workflow_id)).toEqual([BRIDGE_WORKFLOW]);
  });
});

describe("schedule list beside a running local bridge", () => {
  it("reads the bridge's schedules file", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-schedule-list-"));
    bridge = await startLocalBridge({ port: 0, emulatorPort: 0, dataDir, env: { BRIDGE_SCHEDULES_FILE: SCHEDULES } });
    const err = new PassThrough();
    const out = new PassThrough();
    const errChunks: string[] = [];
    const outChunks: string[] = [];
    err.on("data", (chunk: Buffer) => errChunks.push(chunk.toString()));
    out.on("data", (chunk: Buffer) => outChunks.push(chunk.toString()));

    const code = await scheduleCommand(["list", "--data-dir", dataDir, "--from", "2026-01-15T00:00:00Z"], { out, err }, {});

    // It used to exit 2, asking for --schedules although the bridge had a schedules file.
    expect(code).toBe(0);
    expect(errChunks.join("")).toBe(`using the schedules file of the local bridge on ${dataDir}: ${join(process.cwd(), SCHEDULES)}\n`);
    expect(outChunks.join("")).toContain("nightly-posture");
  });
});
