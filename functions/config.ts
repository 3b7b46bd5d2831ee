import { loadConfig, type BridgeConfig } from "../lib/config";

let config: BridgeConfig | undefined;

/** Returns the configuration of this execution environment, read from the environment on first use. */
export function getConfig(): BridgeConfig {
  config ??= loadConfig();
  return config;
}
