import type middy from "@middy/core";
import { loadConfig, type BridgeConfig } from "../lib/config";
import { loadYamlParserFor } from "../lib/routing/document";

let config: BridgeConfig | undefined;

/** Returns the configuration of this execution environment, read from the environment on first use. */
export function getConfig(): BridgeConfig {
  config ??= loadConfig();
  return config;
}

// The environment does not change within an execution environment, so one check is enough.
let yamlFilesChecked = false;

/**
 * Middy middleware that loads the YAML parser before the configuration is read, when a routing
 * or schedules file set in the environment is not JSON (see `loadYamlParserFor`).
 */
export const yamlFilesOnDemand: middy.MiddlewareObj = {
  before: async () => {
    if (yamlFilesChecked) return;
    await loadYamlParserFor(process.env);
    yamlFilesChecked = true;
  },
};

