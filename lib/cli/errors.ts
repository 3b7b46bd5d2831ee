import { BridgeError, ConfigError } from "../errors";

/**
 * Prints a bridge error the way every CLI command reports it (the code, the message and the fix,
 * or the list of configuration issues) and returns exit code 1. Other errors are rethrown, so
 * a bug still shows its stack trace.
 */
export function reportCliError(error: unknown, io: { err: NodeJS.WritableStream }): 1 {
  if (error instanceof ConfigError) {
    io.err.write(`invalid configuration:\n${error.issues.map((issue) => `  - ${issue}`).join("\n")}\n`);
    return 1;
  }
  if (error instanceof BridgeError) {
    io.err.write(`${error.code}: ${error.message}${error.fix === undefined ? "" : `\nfix: ${error.fix}`}\n`);
    return 1;
  }
  throw error;
}
