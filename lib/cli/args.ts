import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * A command line that a command cannot run, such as an unknown option or a missing value. `runCli`
 * prints the message with the command's usage and exits with 2.
 */
export class CliUsageError extends Error {
  override name = "CliUsageError";
}

interface ParseArgsError extends Error {
  code: string;
}

function isParseArgsError(error: unknown): error is ParseArgsError {
  return error instanceof TypeError && typeof (error as Partial<ParseArgsError>).code === "string" && (error as ParseArgsError).code.startsWith("ERR_PARSE_ARGS_");
}

/**
 * Parses the arguments of `command` with `util.parseArgs` in strict mode.
 *
 * @throws CliUsageError naming the first unknown option, or with Node's message for a missing
 *   option value or an unexpected positional argument.
 */
export function parseCommandArgs<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    if (!isParseArgsError(error)) throw error;
    if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new CliUsageError(`unknown option ${unknownOption(config) ?? "(unnamed)"} for ${command}`);
    }
    throw new CliUsageError(`${command}: ${error.message}`);
  }
}

// Node's error names the option only in its message text, so the arguments are parsed again
// without strict checks to read the first undeclared option from the tokens.
function unknownOption(config: ParseArgsConfig): string | undefined {
  const { tokens } = parseArgs({ ...config, strict: false, tokens: true });
  const declared = config.options ?? {};
  for (const token of tokens) {
    if (token.kind === "option" && !Object.hasOwn(declared, token.name)) return token.rawName;
  }
  return undefined;
}
