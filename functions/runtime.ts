import { latestSecretValues, resolveSecMasterCredentials, sameCredentials } from "../lib/auth/secrets";
import { createRuntime, type Runtime } from "../lib/runtime";
import { getConfig } from "./config";

export { getConfig } from "./config";

let runtime: Runtime | undefined;

/**
 * Returns the full runtime of this execution environment, SecMaster clients included, built on
 * first use and rebuilt when a SecMaster credential fetched from SSM or Secrets Manager (by
 * `loadSecrets`) has changed. The functions that start workflows use it.
 */
export function getRuntime(): Runtime {
  const current = getConfig();
  const credentials = resolveSecMasterCredentials(current.secmaster.credentials, latestSecretValues());
  if (runtime === undefined || !sameCredentials(runtime.config.secmaster.credentials, credentials)) {
    const previous = runtime;
    runtime = createRuntime({ ...current, secmaster: { ...current.secmaster, credentials } });
    void previous?.close();
  }
  return runtime;
}

/** Drops the cached runtime; the local server calls it on shutdown. */
export async function resetRuntime(): Promise<void> {
  const current = runtime;
  runtime = undefined;
  await current?.close();
}
