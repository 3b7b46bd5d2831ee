import { ConfigError } from "../../lib/errors";

/** Runs `load` and returns the issues of the ConfigError it throws, or none when it returns. */
export function issuesThrownBy(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}
