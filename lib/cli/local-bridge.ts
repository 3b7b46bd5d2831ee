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
