import { statSync } from "node:fs";
import { BridgeError } from "../errors";
import { hasSecMasterCredentials } from "../local/bridge";
import { readLocalBridge } from "../local/data-dir";
import { withCliSettings } from "../local/local-emulator";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Returns the environment of a command that calls SecMaster. Without SecMaster credentials in
 * `env`, and with a local bridge running its emulator on the data folder, it is `env` with that
 * bridge's emulator endpoint, ids, key pair and dynalite endpoint, and a note goes to `err`.
 * Otherwise it is `env` unchanged.
 *
 * @param dataDir The command's `--data-dir`; without it, `BRIDGE_DATA_DIR` or `.data`.
 */
export function withLocalBridge(env: Env, dataDir: string | undefined, err: NodeJS.WritableStream): Env {
  if (hasSecMasterCredentials(env)) return env;
  const folder = dataDir ?? (env.BRIDGE_DATA_DIR?.trim() || ".data");
  const bridge = readLocalBridge(folder);
  if (bridge?.cliEnv === undefined) return env;

  const { SECMASTER_ENDPOINT: emulatorUrl, BRIDGE_DYNAMODB_ENDPOINT: storeUrl } = bridge.cliEnv;
  err.write(
    `no SecMaster credentials set, so this command uses the local bridge on ${folder} (process ${bridge.pid}): ` +
      `SecMaster emulator ${emulatorUrl}, idempotency store ${storeUrl}\n`,
  );
  return withCliSettings(env, bridge.cliEnv);
}

/**
 * Returns the data folder whose local queue a command uses, or undefined when the options or
 * the environment name an SQS queue. It makes the same choice as `openQueues` in ./queue.ts.
 */
export function localQueueDataDir(values: { "queue-url"?: string | undefined; "dlq-url"?: string | undefined; "data-dir"?: string | undefined }, env: Env): string | undefined {
  if (values["queue-url"] !== undefined || values["dlq-url"] !== undefined) return undefined;
  if (values["data-dir"] !== undefined) return values["data-dir"];
  if (env.BRIDGE_QUEUE_URL?.trim() || env.BRIDGE_DLQ_URL?.trim()) return undefined;
  return env.BRIDGE_DATA_DIR?.trim() || ".data";
}

/**
 * Checks the data folder of a local queue before a command adds jobs to it. When no local
 * bridge runs on the folder, a one-line warning goes to `err` (unless it is undefined), because
 * the jobs wait there until `npm start` uses the folder.
 *
 * @throws BridgeError `BRIDGE.DATA_DIR_NOT_FOUND` when the folder does not exist or is not a
 *   folder. The command creates no folder, because a missing one is most often a mistyped
 *   `--data-dir` or `BRIDGE_DATA_DIR`, and no bridge would ever read jobs queued there.
 */
export function checkLocalQueueFolder(dataDir: string, err: NodeJS.WritableStream | undefined): void {
  const stats = statSync(dataDir, { throwIfNoEntry: false });
  if (stats === undefined || !stats.isDirectory()) {
    const problem = stats === undefined ? "does not exist, so no bridge reads a queue there" : "is not a folder";
    throw new BridgeError("BRIDGE.DATA_DIR_NOT_FOUND", `the data folder ${dataDir} ${problem}`, {
      fix: `check --data-dir and BRIDGE_DATA_DIR, or start the bridge on the folder first: BRIDGE_DATA_DIR=${dataDir} npm start`,
    });
  }
  if (err === undefined || readLocalBridge(dataDir) !== undefined) return;
  err.write(
    `warning: no local bridge runs on the data folder ${dataDir}, so jobs queued there wait until npm start uses that folder ` +
      `(BRIDGE_DATA_DIR=${dataDir} npm start)\n`,
  );
}
