import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startLocalBridge, type LocalBridge } from "../../lib/local/bridge";
import { INSTANCES_FILE } from "../../lib/local/emulator";
import { logger } from "../../lib/logger";
import { readFixture } from "../helpers/fixtures";
import { postAlerts } from "../helpers/local-bridge";
import { waitFor } from "./harness";

const BRIDGE_PROCESS = fileURLToPath(new URL("./bridge-process.ts", import.meta.url));
const SETTINGS = {
  BRIDGE_MODE: "queue",
  BRIDGE_QUEUE_VISIBILITY_TIMEOUT_SECONDS: "2",
  BRIDGE_DISPATCH_EARLY_TIMEOUT_MS: "500",
  BRIDGE_RETRY_BASE_DELAY_MS: "100",
};

let dataDir: string;
let child: ChildProcess | undefined;
let restarted: LocalBridge | undefined;

afterEach(async () => {
  child?.kill("SIGKILL");
  await restarted?.close();
  logger.setLogLevel("INFO");
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the bridge in a child process and resolves with its URL once it listens. */
async function startBridgeProcess(env: Record<string, string>): Promise<{ url: string; process: ChildProcess }> {
  const started = spawn(process.execPath, ["--import", "tsx", BRIDGE_PROCESS], {
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "ERROR", POWERTOOLS_METRICS_DISABLED: "true", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: started.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    started.once("exit", (code) => reject(new Error(`bridge process exited with code ${code} before it listened`)));
  });
  lines.close();
  return { url: (JSON.parse(first) as { url: string }).url, process: started };
}

/** Kills the bridge process with SIGKILL, starts a bridge on the same data folder and waits until its queue is empty. */
async function killAndRestart(): Promise<LocalBridge> {
  const exited = new Promise((resolve) => child!.once("exit", resolve));
  child!.kill("SIGKILL");
  await exited;
  child = undefined;
  logger.setLogLevel("SILENT");
  const bridge = await startLocalBridge({ port: 0, emulatorPort: 0, dataDir, env: SETTINGS });
  await waitFor(async () => (await bridge.queue!.approximateCount()) === 0, 30_000, "the jobs to be dispatched after the restart");
  return bridge;
}

function storedInstanceIds(): string[] {
  const file = join(dataDir, INSTANCES_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => (JSON.parse(line) as { instance_id: string }).instance_id);
}

describe("local queue across kill -9", () => {
  it("delivers accepted alerts after a restart, none twice", { timeout: 60_000 }, async () => {
    dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-kill-"));
    // SecMaster stores every instance but never responds, so the process dies between "SecMaster
    // accepted" and "idempotency record completed", with the jobs still in the queue.
    const bridgeProcess = await startBridgeProcess({
      ...SETTINGS,
      BRIDGE_DATA_DIR: dataDir,
      SECMASTER_EMULATOR_FAULTS: "accept-timeout=1",
      SECMASTER_ATTEMPT_TIMEOUT_MS: "60000",
    });
    child = bridgeProcess.process;
    const answer = await postAlerts(bridgeProcess.url, "alertmanager", readFixture("payloads/alertmanager-firing-group.json"));
    const accepted = (answer.json.results as { action_instance_id: string }[]).map((result) => result.action_instance_id);
    await waitFor(() => storedInstanceIds().length === accepted.length, 10_000, "SecMaster to store the instances");

    restarted = await killAndRestart();

    expect(answer.status).toBe(202);
    expect(accepted).toHaveLength(3);
    expect(restarted.emulator!.instances().map((instance) => instance.instance_id).sort()).toEqual([...accepted].sort());
    expect(restarted.emulator!.stats().created).toBe(0);
    expect(restarted.emulator!.stats().duplicateAttempts).toBe(0);
    expect(await restarted.deadLetters!.approximateCount()).toBe(0);
  });

  it("starts jobs that were only queued when the process died", { timeout: 60_000 }, async () => {
    dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-kill-"));
    // Every SecMaster request is throttled before it is handled, so nothing starts before the kill.
    const bridgeProcess = await startBridgeProcess({ ...SETTINGS, BRIDGE_DATA_DIR: dataDir, SECMASTER_EMULATOR_FAULTS: "429=1", SECMASTER_MAX_ATTEMPTS: "1" });
    child = bridgeProcess.process;
    const answer = await postAlerts(bridgeProcess.url, "alertmanager", readFixture("payloads/alertmanager-firing-group.json"));

    restarted = await killAndRestart();

    expect(answer.status).toBe(202);
    expect(storedInstanceIds()).toHaveLength(3);
    expect(restarted.emulator!.stats().created).toBe(3);
    expect(restarted.emulator!.stats().duplicateAttempts).toBe(0);
  });
});
