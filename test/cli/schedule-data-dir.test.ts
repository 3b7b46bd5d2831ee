import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { scheduleCommand } from "../../lib/cli/schedule";
import { openLocalQueues } from "../../lib/delivery/local-queue";
import { LOCAL_BRIDGE_FILE } from "../../lib/local/data-dir";
import { captureCliOutput } from "../helpers/cli-output";

const SCHEDULES = "test/fixtures/schedule/schedules.yaml";
const RUN = ["run", "nightly-posture", "--at", "2026-01-15T18:00:00Z"];

let parent: string;

beforeEach(() => {
  parent = mkdtempSync(join(tmpdir(), "secmaster-bridge-cli-data-dir-"));
});

afterEach(() => {
  rmSync(parent, { recursive: true, force: true });
});

async function queuedJobs(dataDir: string): Promise<number> {
  return openLocalQueues(dataDir, 5).queue.approximateCount();
}

describe("schedule run into a local queue", () => {
  it("warns when no bridge runs there", async () => {
    const output = captureCliOutput();

    const code = await scheduleCommand([...RUN, "--data-dir", parent], output.io, { BRIDGE_SCHEDULES_FILE: SCHEDULES });

    expect(code).toBe(0);
    expect(output.out()).toMatch(/^queued 41440672-9265-5de0-b13c-cc19da30fc68 /);
    expect(output.err()).toBe(
      `warning: no local bridge runs on the data folder ${parent}, so jobs queued there wait until npm start uses that folder ` +
        `(BRIDGE_DATA_DIR=${parent} npm start)\n`,
    );
    expect(await queuedJobs(parent)).toBe(1);
  });

  it("stays quiet while a bridge runs there", async () => {
    // A lock file naming this process, which is running, makes the folder look like one that npm start uses.
    writeFileSync(join(parent, LOCAL_BRIDGE_FILE), JSON.stringify({ pid: process.pid, startId: "test", startedAt: new Date().toISOString() }));
    const output = captureCliOutput();

    const code = await scheduleCommand([...RUN, "--data-dir", parent], output.io, { BRIDGE_SCHEDULES_FILE: SCHEDULES });

    expect(code).toBe(0);
    expect(output.err()).toBe("");
    expect(await queuedJobs(parent)).toBe(1);
  });

  it("rejects a missing folder without creating it", async () => {
    const missing = join(parent, ".data-none");
    const fromOption = captureCliOutput();
    const fromEnv = captureCliOutput();

    const optionCode = await scheduleCommand([...RUN, "--data-dir", missing], fromOption.io, { BRIDGE_SCHEDULES_FILE: SCHEDULES });
    const envCode = await scheduleCommand(RUN, fromEnv.io, { BRIDGE_SCHEDULES_FILE: SCHEDULES, BRIDGE_DATA_DIR: missing });

    expect(optionCode).toBe(1);
    expect(fromOption.out()).toBe("");
    expect(fromOption.err()).toBe(
      `BRIDGE.DATA_DIR_NOT_FOUND: the data folder ${missing} does not exist, so no bridge reads a queue there\n` +
        `fix: check --data-dir and BRIDGE_DATA_DIR, or start the bridge on the folder first: BRIDGE_DATA_DIR=${missing} npm start\n`,
    );
    expect(envCode).toBe(1);
    expect(fromEnv.err()).toBe(fromOption.err());
    expect(existsSync(missing)).toBe(false);
  });

  it("rejects a file as the folder", async () => {
    const file = join(parent, "notes.txt");
    writeFileSync(file, "not a folder\n");
    const output = captureCliOutput();

    const code = await scheduleCommand([...RUN, "--data-dir", file], output.io, { BRIDGE_SCHEDULES_FILE: SCHEDULES });

    expect(code).toBe(1);
    expect(output.err()).toMatch(new RegExp(`^BRIDGE\\.DATA_DIR_NOT_FOUND: the data folder ${file} is not a folder\\n`));
  });
});
