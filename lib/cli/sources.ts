import { parseTextLines } from "../auth/content-type";
import { ENVIRONMENT_SCHEMA } from "../config";
import { ConfigError, InvalidInputError } from "../errors";
import { DEFAULT_DELIVERY_LIMITS } from "../limits";
import { checkSourceOptions, loadGenericSources } from "../runtime";
import { readsCefLines } from "../sources/generic";
import { BUILT_IN_SOURCES, findSource } from "../sources/index";
import type { SourceAdapter } from "../sources/types";

type Env = Readonly<Record<string, string | undefined>>;

/** The adapter a command reads deliveries with, and the generic sources it was chosen from. */
export interface CliSource {
  adapter: SourceAdapter<unknown>;
  genericSources: Record<string, SourceAdapter<unknown>>;
}

/**
 * Finds the adapter of `sourceId` among the built-in sources and the generic JSON sources of the
 * mapping files. The files are those of `--mapping`, or else those of `BRIDGE_GENERIC_MAPPINGS`,
 * as the bridge reads them. It returns undefined after writing the error to `err` when no source
 * has that id.
 *
 * @throws ConfigError when a mapping file is unreadable or invalid.
 */
export function findCliSource(sourceId: string, mappingFiles: string[] | undefined, env: Env, err: NodeJS.WritableStream): CliSource | undefined {
  const genericSources = loadCliGenericSources(mappingFiles, env);
  const adapter = findSource(sourceId, genericSources);
  if (adapter !== undefined) return { adapter, genericSources };

  const known = [...Object.keys(BUILT_IN_SOURCES), ...Object.keys(genericSources)].sort().join(", ");
  err.write(
    `unknown source ${JSON.stringify(sourceId)}; known sources: ${known}. ` +
      "A generic JSON source needs its mapping file: pass --mapping FILE or set BRIDGE_GENERIC_MAPPINGS\n",
  );
  return undefined;
}

/**
 * Loads the generic sources of the `--mapping` files, or else of `BRIDGE_GENERIC_MAPPINGS`. Each
 * issue starts with the option or the variable that named the file.
 *
 * @throws ConfigError when a mapping file is unreadable or invalid.
 */
export function loadCliGenericSources(mappingFiles: string[] | undefined, env: Env): Record<string, SourceAdapter<unknown>> {
  if (mappingFiles !== undefined) return loadGenericSources(mappingFiles, "--mapping");
  return loadGenericSources(splitList(env.BRIDGE_GENERIC_MAPPINGS));
}

function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/**
 * Tells whether a saved file is raw CEF text for `adapter`. Only a generic source in the `cef`
 * format reads CEF lines, as the bridge does for a `text/plain` body. Its file is CEF text unless
 * it starts like JSON (`{`, `[` or `"`), so a syslog prefix such as `<134>` or `CEF:0|` starts one.
 */
export function isRawCefText(text: string, adapter: SourceAdapter<unknown>): boolean {
  return readsCefLines(adapter) && !/^\s*[[{"]/.test(text);
}

/**
 * Parses the text of a saved delivery as the bridge parses its body: raw CEF text of a `cef`
 * source becomes its non-blank lines, as a `text/plain` body does, and anything else is JSON.
 *
 * @throws InvalidInputError `BRIDGE.BODY_EMPTY` or `BRIDGE.BODY_NOT_JSON` naming the file, and
 *   `BRIDGE.JSON_STRING_TOO_LONG` for a CEF line over the default string limit.
 */
export function parseDeliveryText(text: string, file: string, adapter: SourceAdapter<unknown>): unknown {
  const cef = readsCefLines(adapter);
  const fix = cef ? "save the delivery as the JSON body the sender posts, or as raw CEF lines" : "save the delivery as the JSON body the sender posts";
  if (text.trim() === "") throw new InvalidInputError("BRIDGE.BODY_EMPTY", `${file} is empty`, { statusCode: 400, fix });
  if (isRawCefText(text, adapter)) return parseTextLines(text, DEFAULT_DELIVERY_LIMITS.maxStringLength);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidInputError("BRIDGE.BODY_NOT_JSON", `${file} is not valid JSON: ${(error as Error).message.slice(0, 160)}`, { statusCode: 400, fix, cause: error });
  }
}

/**
 * Returns the settings of one source from `flag` (a command's `--options` JSON), else from
 * `BRIDGE_SOURCE_OPTIONS`, checked as the bridge checks them at start.
 *
 * @throws ConfigError naming the option or variable when the settings are invalid.
 */
export function cliSourceOptions(sourceId: string, flag: string | undefined, genericSources: Record<string, SourceAdapter<unknown>>, env: Env): unknown {
  let all: Record<string, unknown>;
  if (flag === undefined) {
    const parsed = ENVIRONMENT_SCHEMA.shape.BRIDGE_SOURCE_OPTIONS.safeParse(env.BRIDGE_SOURCE_OPTIONS);
    if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => `BRIDGE_SOURCE_OPTIONS: ${issue.message}`));
    all = parsed.data ?? {};
  } else {
    try {
      all = { [sourceId]: JSON.parse(flag) as unknown };
    } catch {
      throw new ConfigError(["--options: must be a JSON object, such as {\"trigger\":\"once\"}"]);
    }
  }
  checkSourceOptions(all, genericSources);
  return Object.hasOwn(all, sourceId) ? all[sourceId] : undefined;
}
