import { randomUUID } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { BridgeError } from "../errors";

/**
 * File in the data folder that names the local bridge using the folder. Its presence with the id
 * of a running process is the folder's lock, and CLI commands read it to reach that bridge.
 */
export const LOCAL_BRIDGE_FILE = "local-bridge.json";

/** Contents of {@link LOCAL_BRIDGE_FILE}. */
export interface LocalBridgeInfo {
  /** Process id of the bridge. */
  pid: number;
  /** Random id of one start, so that a bridge removes only its own file. */
  startId: string;
  startedAt: string;
  /** Base URL of the ingest server, once it listens. */
  url?: string;
  /**
   * Settings that let a CLI command in another shell reach this bridge's SecMaster emulator and
   * idempotency store, such as `SECMASTER_ENDPOINT` and `BRIDGE_DYNAMODB_ENDPOINT`. Set only while
   * the bridge runs the emulator.
   */
  cliEnv?: Record<string, string>;
  /**
   * The bridge's settings that decide how a delivery becomes start jobs (routing file, mapping
   * files, source options, default severity), as environment variables with absolute file paths.
   * A `replay` into this folder's queue plans with them.
   */
  planning?: Record<string, string>;
  /** Absolute path of the bridge's schedules file (`BRIDGE_SCHEDULES_FILE`), which `schedule list` and `schedule run` then read. */
  schedulesFile?: string;
}

/** The claim of a data folder by one local bridge. */
export interface DataDirLock {
  /** Path of {@link LOCAL_BRIDGE_FILE}. */
  file: string;
  /** Rewrites the file with the bridge's URL and CLI settings once it listens. */
  publish(details: Pick<LocalBridgeInfo, "url" | "cliEnv" | "planning">): void;
  /** Removes the file unless another start has replaced it. */
  release(): void;
}

/**
 * Claims `dataDir` for one local bridge before its stores open. Another bridge that runs on the
 * folder, or any process that holds the LevelDB lock of `storePath`, makes the claim fail. A file
 * left by a process that no longer runs (after `kill -9`) is replaced.
 *
 * @param storePath The dynalite LevelDB folder to check, or undefined for an in-memory store.
 * @throws BridgeError `BRIDGE.DATA_DIR_IN_USE` naming the folder, the other bridge and the fix, or
 *   `BRIDGE.DATA_DIR_UNUSABLE` when the folder or the store cannot be opened.
 */
export async function lockDataDir(dataDir: string, storePath: string | undefined): Promise<DataDirLock> {
  const file = join(dataDir, LOCAL_BRIDGE_FILE);
  const info: LocalBridgeInfo = { pid: process.pid, startId: randomUUID(), startedAt: new Date().toISOString() };
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    throw unusable(dataDir, error);
  }
  claimFile(dataDir, file, info);

  const lock: DataDirLock = {
    file,
    publish: (details) => writeInfo(file, { ...info, ...details }),
    release: () => {
      claimedHere.delete(file);
      if (readInfo(file)?.startId === info.startId) rmSync(file, { force: true });
    },
  };
  if (storePath !== undefined) {
    try {
      await probeStore(dataDir, storePath);
    } catch (error) {
      lock.release();
      throw error;
    }
  }
  return lock;
}

/**
 * Returns the bridge recorded in `dataDir`, or undefined when there is none or its process has
 * exited.
 */
export function readLocalBridge(dataDir: string): LocalBridgeInfo | undefined {
  const info = readInfo(join(dataDir, LOCAL_BRIDGE_FILE));
  return info !== undefined && isRunning(info.pid) ? info : undefined;
}

// Lock files this process holds. A file with this process's id that is not among them was left by
// an earlier process with the same id, as after a container restart over a mounted data folder.
const claimedHere = new Set<string>();

function holderIsAlive(file: string, holder: LocalBridgeInfo): boolean {
  if (holder.pid === process.pid) return claimedHere.has(file);
  return isRunning(holder.pid);
}

function claimFile(dataDir: string, file: string, info: LocalBridgeInfo): void {
  // Three tries: a stale file is moved aside between them, and a start that lost a race to
  // another start meets that start's claim on the next try.
  for (let attempt = 1; ; attempt++) {
    try {
      // Linking a complete temporary file fails when the name exists, so no reader gets a
      // half-written lock, and of two starts only one creates it.
      withTemporaryFile(file, info, (temporary) => linkSync(temporary, file));
      claimedHere.add(file);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw unusable(dataDir, error);
    }
    const holder = readInfo(file);
    if (holder !== undefined && holderIsAlive(file, holder)) throw inUse(dataDir, holder);
    if (attempt === 3) throw unusable(dataDir, undefined, `${LOCAL_BRIDGE_FILE} kept changing while other starts claimed the folder; start again`);
    try {
      removeStaleLock(file, holder);
    } catch (error) {
      // EEXIST: another start's claim came back while a third start claimed the folder, and the
      // next try reports the folder in use.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw unusable(dataDir, error);
    }
  }
}

/**
 * Removes the lock file if it is still the stale one that was read, `stale` (undefined for a
 * file that could not be read). The file is first renamed aside in one step. Of two starts that
 * found the same stale file, the second then finds the first one's new claim in its renamed copy
 * and puts it back instead of deleting it.
 */
export function removeStaleLock(file: string, stale: LocalBridgeInfo | undefined): void {
  const aside = `${file}.${randomUUID()}.stale`;
  try {
    renameSync(file, aside);
  } catch (error) {
    // Another start removed it first.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  try {
    const moved = readInfo(aside);
    if (moved?.startId === stale?.startId) return;
    // NOTE: this throws EEXIST when a third start claimed the name in between. That start then
    // owns the folder, and the start whose claim was moved aside runs on without a lock file.
    linkSync(aside, file);
  } finally {
    rmSync(aside, { force: true });
  }
}

// Writes `info` to a temporary file next to `file`, passes its path to `place`, and removes it.
function withTemporaryFile(file: string, info: LocalBridgeInfo, place: (temporary: string) => void): void {
  const temporary = `${file}.${randomUUID()}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  try {
    place(temporary);
  } finally {
    rmSync(temporary, { force: true });
  }
}

// Opens and closes the LevelDB folder the way dynalite would. dynalite opens it only on its first
// request and then throws "Database is closed" from a callback, which no caller can catch.
async function probeStore(dataDir: string, storePath: string): Promise<void> {
  // `level` is the LevelDB package of dynalite, so it is resolved from dynalite's folder.
  const requireFromDynalite = createRequire(createRequire(import.meta.url).resolve("dynalite"));
  const { Level } = requireFromDynalite("level") as { Level: new (path: string) => { open(): Promise<void>; close(): Promise<void> } };
  const store = new Level(storePath);
  try {
    await store.open();
  } catch (error) {
    await store.close().catch(() => undefined);
    // abstract-level reports why the open failed in the error's cause.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === "LEVEL_LOCKED") throw inUse(dataDir, undefined);
    throw unusable(dataDir, error, cause?.message);
  }
  await store.close();
}

// Replaces the file in one rename, so a CLI command never reads it half-written.
function writeInfo(file: string, info: LocalBridgeInfo): void {
  withTemporaryFile(file, info, (temporary) => renameSync(temporary, file));
}

// A file that cannot be read or parsed counts as absent: the start that wrote it crashed, or it
// was edited by hand.
function readInfo(file: string): LocalBridgeInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(file, "utf8")) as Partial<LocalBridgeInfo>;
    return Number.isInteger(info.pid) && typeof info.startId === "string" ? (info as LocalBridgeInfo) : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function inUse(dataDir: string, holder: LocalBridgeInfo | undefined): BridgeError {
  const user = holder === undefined ? "another process holds its idempotency store" : `the local bridge of process ${holder.pid}${holder.url === undefined ? "" : ` at ${holder.url}`} uses it`;
  const stop = holder === undefined ? "stop the other bridge" : `stop that bridge (Ctrl-C in its shell, or kill ${holder.pid})`;
  return new BridgeError("BRIDGE.DATA_DIR_IN_USE", `the data folder ${dataDir} is in use: ${user}`, {
    fix: `${stop}, or give this bridge its own folder and ports: BRIDGE_DATA_DIR=${dataDir}-2 PORT=${nextPort(holder?.url, 3000)} SECMASTER_EMULATOR_PORT=${nextPort(holder?.cliEnv?.SECMASTER_ENDPOINT, 9400)} npm start`,
  });
}

// The port after the one the running bridge uses, or after the default when it is not known.
function nextPort(url: string | undefined, defaultPort: number): number {
  let port = Number.NaN;
  try {
    port = url === undefined ? Number.NaN : Number(new URL(url).port);
  } catch {
    // An unreadable URL leaves the default.
  }
  return (Number.isInteger(port) && port > 0 && port < 65535 ? port : defaultPort) + 1;
}

function unusable(dataDir: string, error: unknown, detail?: string): BridgeError {
  const reason = detail ?? (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new BridgeError("BRIDGE.DATA_DIR_UNUSABLE", `failed to open the data folder ${dataDir}: ${reason}`, {
    cause: error,
    fix: "check that the folder is writable and the disk has space, or set BRIDGE_DATA_DIR to another folder",
  });
}
