import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startLocalBridge, type LocalBridge } from "../../lib/local/bridge";
import { LOCAL_BRIDGE_FILE, lockDataDir, readLocalBridge, removeStaleLock } from "../../lib/local/data-dir";

const SETTINGS = { BRIDGE_MODE: "direct" };

let dataDir: string;
const running: LocalBridge[] = [];

async function start(env: Record<string, string> = SETTINGS): Promise<LocalBridge> {
  const bridge = await startLocalBridge({ port: 0, emulatorPort: 0, dataDir, env });
  running.push(bridge);
  return bridge;
}

/** Returns the rejection of a promise that must reject. */
async function rejectionOf(promise: Promise<unknown>): Promise<{ code?: string; message: string; fix?: string; issues?: string[] }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error("expected a rejection");
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-data-dir-"));
});

afterEach(async () => {
  for (const bridge of running.splice(0)) await bridge.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("data folder lock", () => {
  it("second bridge on a busy folder is rejected", async () => {
    const first = await start();

    const error = await rejectionOf(start());

    expect(error.code).toBe("BRIDGE.DATA_DIR_IN_USE");
    expect(error.message).toBe(`the data folder ${dataDir} is in use: the local bridge of process ${process.pid} at ${first.url} uses it`);
    // The hint names the ports after the busy bridge's own.
    const bridgePort = Number(new URL(first.url).port);
    const emulatorPort = Number(new URL(readLocalBridge(dataDir)!.cliEnv!.SECMASTER_ENDPOINT!).port);
    expect(error.fix).toBe(
      `stop that bridge (Ctrl-C in its shell, or kill ${process.pid}), or give this bridge its own folder and ports: ` +
        `BRIDGE_DATA_DIR=${dataDir}-2 PORT=${bridgePort + 1} SECMASTER_EMULATOR_PORT=${emulatorPort + 1} npm start`,
    );
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    expect(readLocalBridge(dataDir)?.url).toBe(first.url);
  });

  it("configuration errors come before the lock", async () => {
    await start();

    const error = await rejectionOf(start({ ...SETTINGS, BRIDGE_GENERIC_MAPPINGS: "/nonexistent/mapping.json" }));

    expect(error.code).toBe("BRIDGE.CONFIG_INVALID");
    expect(error.issues).toHaveLength(1);
    expect(error.issues![0]).toMatch(/^BRIDGE_GENERIC_MAPPINGS: cannot read \/nonexistent\/mapping\.json: /);
  });

  it("LevelDB lock of another process is detected", async () => {
    // `level` is dynalite's LevelDB package. Holding its lock simulates a process that has the
    // store open but wrote no file.
    const requireFromDynalite = createRequire(createRequire(import.meta.url).resolve("dynalite"));
    const { Level } = requireFromDynalite("level") as { Level: new (path: string) => { open(): Promise<void>; close(): Promise<void> } };
    mkdirSync(join(dataDir, "dynamodb"), { recursive: true });
    const holder = new Level(join(dataDir, "dynamodb"));
    await holder.open();

    try {
      const error = await rejectionOf(start());

      expect(error.code).toBe("BRIDGE.DATA_DIR_IN_USE");
      expect(error.message).toBe(`the data folder ${dataDir} is in use: another process holds its idempotency store`);
      expect(existsSync(join(dataDir, LOCAL_BRIDGE_FILE))).toBe(false);
    } finally {
      await holder.close();
    }
  });

  it("file of an exited process is replaced", async () => {
    const exited = spawnSync(process.execPath, ["-e", ""]);
    writeFileSync(join(dataDir, LOCAL_BRIDGE_FILE), JSON.stringify({ pid: exited.pid, startId: "old", startedAt: "2026-01-15T08:00:00.000Z" }));

    const bridge = await start();

    expect(readLocalBridge(dataDir)?.pid).toBe(process.pid);
    expect(readLocalBridge(dataDir)?.url).toBe(bridge.url);
  });

  it("file with this process id from an earlier start is replaced", async () => {
    // A container restarted over a mounted data folder can get the same process id again.
    writeFileSync(join(dataDir, LOCAL_BRIDGE_FILE), JSON.stringify({ pid: process.pid, startId: "before-restart", startedAt: "2026-01-15T08:00:00.000Z" }));

    const bridge = await start();

    expect(readLocalBridge(dataDir)?.startId).not.toBe("before-restart");
    expect(readLocalBridge(dataDir)?.url).toBe(bridge.url);
  });

  it("stale-lock race keeps first claim", async () => {
    const exited = spawnSync(process.execPath, ["-e", ""]);
    const file = join(dataDir, LOCAL_BRIDGE_FILE);
    const stale = { pid: exited.pid, startId: "stale", startedAt: "2026-01-15T08:00:00.000Z" };
    writeFileSync(file, JSON.stringify(stale));

    // Both starts read the stale file; the first one replaces it before the second one acts.
    const first = await lockDataDir(dataDir, undefined);
    const firstClaim = readFileSync(file, "utf8");
    removeStaleLock(file, stale);

    expect(readFileSync(file, "utf8")).toBe(firstClaim);
    expect(readdirSync(dataDir).filter((name) => name !== LOCAL_BRIDGE_FILE)).toEqual([]);
    const second = await rejectionOf(lockDataDir(dataDir, undefined));
    expect(second.code).toBe("BRIDGE.DATA_DIR_IN_USE");
    first.release();
  });

  it.each([
    ["the stale file", '{"pid": 1, "startId": "stale", "startedAt": "2026-01-15T08:00:00.000Z"}', { pid: 1, startId: "stale", startedAt: "2026-01-15T08:00:00.000Z" }],
    ["an unreadable file", "{", undefined],
  ])("stale-lock removal deletes %s", (_case, text, stale) => {
    const file = join(dataDir, LOCAL_BRIDGE_FILE);
    writeFileSync(file, text);

    removeStaleLock(file, stale);

    expect(readdirSync(dataDir)).toEqual([]);
  });

  it("stale-lock removal of a missing file does nothing", () => {
    removeStaleLock(join(dataDir, LOCAL_BRIDGE_FILE), undefined);

    expect(readdirSync(dataDir)).toEqual([]);
  });

  it("leaves no temporary file beside the lock", async () => {
    await start();

    expect(readdirSync(dataDir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    expect(readLocalBridge(dataDir)?.pid).toBe(process.pid);
  });

  it("close releases the folder", async () => {
    const first = await start();
    await first.close();
    running.splice(0);

    const second = await start();

    expect(existsSync(join(dataDir, LOCAL_BRIDGE_FILE))).toBe(true);
    expect(readLocalBridge(dataDir)?.url).toBe(second.url);
  });

  it("second close waits for the first", async () => {
    // SIGTERM after Ctrl-C used to run a second close alongside the first, which released the
    // folder and closed the stores while deliveries still waited for their responses.
    const bridge = await start();

    const first = bridge.close();
    const second = bridge.close();
    await first;
    running.splice(0);

    expect(second).toBe(first);
    expect(existsSync(join(dataDir, LOCAL_BRIDGE_FILE))).toBe(false);
  });

  it("file records how a CLI reaches the bridge", async () => {
    const bridge = await start();

    const info = JSON.parse(readFileSync(bridge.infoFile, "utf8")) as { pid: number; url: string; cliEnv: Record<string, string> };

    expect(bridge.infoFile).toBe(join(dataDir, LOCAL_BRIDGE_FILE));
    expect(statSync(bridge.infoFile).mode & 0o777).toBe(0o600);
    expect(info.pid).toBe(process.pid);
    expect(info.url).toBe(bridge.url);
    expect(info.cliEnv.SECMASTER_ENDPOINT).toBe(bridge.emulator!.url);
    expect(info.cliEnv.BRIDGE_DYNAMODB_ENDPOINT).toBe(bridge.dynamodb.endpoint);
    expect(info.cliEnv.BRIDGE_IDEMPOTENCY_TABLE).toBe(bridge.config.idempotency.tableName);
    expect(info.cliEnv.SECMASTER_PROJECT_ID).toBe("0000000000000000000000000000e001");
    expect(info.cliEnv.SECMASTER_WORKSPACE_ID).toBe("00000000-0000-4000-8000-00000000a001");
    expect(info.cliEnv.SECMASTER_WORKFLOW_ID).toBe("00000000-0000-4000-8000-00000000f001");
    expect(info.cliEnv.SECMASTER_AK).toBe("LOCALEMULATORKEY0001");
    expect(info.cliEnv.SECMASTER_SK).toMatch(/^[0-9a-f]{48}$/);
  });

  it("bridge with SecMaster credentials records no CLI settings", async () => {
    // Nothing is posted, so the bridge sends nothing to this endpoint.
    const bridge = await start({ ...SETTINGS, SECMASTER_AK: "AK", SECMASTER_SK: "SK", SECMASTER_ENDPOINT: "http://127.0.0.1:9", SECMASTER_PROJECT_ID: "p", SECMASTER_WORKSPACE_ID: "w", SECMASTER_WORKFLOW_ID: "f" });

    expect(bridge.emulator).toBeUndefined();
    expect(readLocalBridge(dataDir)?.url).toBe(bridge.url);
    expect(readLocalBridge(dataDir)?.cliEnv).toBeUndefined();
  });
});
