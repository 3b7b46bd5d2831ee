import { latestSecretValues, resolveSecMasterCredentials, sameCredentials } from "../lib/auth/secrets";
import type { BridgeConfig } from "../lib/config";
import { getConfig } from "./config";

/** A runtime kept for the life of an execution environment and rebuilt when the SecMaster keys change. */
export interface CredentialBoundCache<R> {
  /**
   * Returns the runtime, built on first use and rebuilt when a SecMaster credential fetched from
   * SSM or Secrets Manager (by `loadSecrets`) has changed since it was built.
   */
  get(): R;
  /** Drops the runtime and closes it. */
  reset(): Promise<void>;
}

/** Caches the runtime that `build` makes from the configuration with the fetched SecMaster keys. */
export function credentialBoundCache<R extends { config: BridgeConfig; close(): Promise<void> }>(build: (config: BridgeConfig) => R): CredentialBoundCache<R> {
  let current: R | undefined;
  return {
    get() {
      const config = getConfig();
      const credentials = resolveSecMasterCredentials(config.secmaster.credentials, latestSecretValues());
      if (current === undefined || !sameCredentials(current.config.secmaster.credentials, credentials)) {
        const previous = current;
        current = build({ ...config, secmaster: { ...config.secmaster, credentials } });
        void previous?.close();
      }
      return current;
    },
    async reset() {
      const previous = current;
      current = undefined;
      await previous?.close();
    },
  };
}
