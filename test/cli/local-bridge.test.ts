import { dirname } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { routesCommand } from "../../lib/cli/routes";
import { scheduleCommand } from "../../lib/cli/schedule";
import type { LocalBridge } from "../../lib/local/bridge";
import { startTestBridge } from "../helpers/local-bridge";
import { captureCliOutput } from "../helpers/cli-output";

describe("CLI against a running local bridge", () => {
  let bridge: LocalBridge;
  let dataDir: string;

  beforeAll(async () => {
    bridge = await startTestBridge({ env: { BRIDGE_MODE: "queue", BRIDGE_ROUTES_FILE: "config/routes.example.yaml" } });
    dataDir = dirname(bridge.infoFile);
  });
  beforeEach(() => {
    bridge.emulator!.reset();
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("schedule run --direct starts the instance in its emulator", async () => {
    const output = captureCliOutput();
    const args = ["run", "nightly-posture", "--at", "2026-01-15T18:00:00Z", "--direct", "--schedules", "config/schedules.example.yaml"];

    const code = await scheduleCommand(args, output.io, { BRIDGE_DATA_DIR: dataDir });

    expect(output.err()).toBe(
      `no SecMaster credentials set, so this command uses the local bridge on ${dataDir} (process ${process.pid}): ` +
        `SecMaster emulator ${bridge.emulator!.url}, idempotency store ${bridge.dynamodb.endpoint}\n`,
    );
    expect(code).toBe(0);
    expect(output.out()).toMatch(/^created [0-9a-f-]{36} \(schedule nightly-posture at 2026-01-15T18:00:00\.000Z, workflow 00000000-0000-4000-8000-00000000f001\)\n$/);
    expect(bridge.emulator!.instances()).toHaveLength(1);
  });

  it("schedule run --direct uses the bridge's idempotency store", async () => {
    const args = ["run", "nightly-posture", "--at", "2026-01-16T18:00:00Z", "--direct", "--data-dir", dataDir, "--schedules", "config/schedules.example.yaml"];
    const first = captureCliOutput();
    const second = captureCliOutput();

    expect(await scheduleCommand(args, first.io, {})).toBe(0);
    expect(await scheduleCommand(args, second.io, {})).toBe(0);

    expect(second.out()).toMatch(/^duplicate /);
    // The second run found the record in dynalite and never called SecMaster.
    expect(bridge.emulator!.stats().requests).toBe(1);
    expect(bridge.emulator!.stats().duplicateAttempts).toBe(0);
  });

  it("routes check checks each workflow in its emulator", async () => {
    const output = captureCliOutput();

    const code = await routesCommand(["check", "config/routes.example.yaml"], output.io, { BRIDGE_DATA_DIR: dataDir });

    const rows = output
      .out()
      .trim()
      .split("\n")
      .slice(2)
      .map((line) => line.split(/\s{2,}/));
    expect(code).toBe(1);
    expect(rows.map((row) => [row[0], row[3]?.slice(-4), row.at(-1)])).toEqual([
      ["secops-critical", "f001", "ok"],
      ["secops-critical", "f002", "ok"],
      ["aws-findings", "f003", expect.stringMatching(/SecMaster\.20030002/)],
      ["close-resolved", "f004", "ok"],
      ["(default)", "f001", "ok"],
    ]);
    expect(output.err()).toContain("1 of 5 targets failed the check\n");
  });

  it("credentials in the environment win over the local bridge", async () => {
    const output = captureCliOutput();

    const code = await routesCommand(["check", "config/routes.example.yaml"], output.io, {
      BRIDGE_DATA_DIR: dataDir,
      SECMASTER_AUTH_TOKEN: "token-of-another-secmaster",
      SECMASTER_ENDPOINT: bridge.emulator!.url,
    });

    expect(output.err()).not.toContain("uses the local bridge");
    expect(code).toBe(1);
  });
});
