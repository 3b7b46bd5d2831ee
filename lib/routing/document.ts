import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { ConfigError } from "../errors";
import { formatPath } from "../sources/parse";

/** Parses YAML text into plain values; throws the parser's own error on invalid text. */
export type YamlParser = (text: string) => unknown;

let yamlParser: YamlParser | undefined;

/**
 * Sets the YAML parser of this process. This module imports no YAML package, so the deployed
 * functions do not load one at cold start. They read the JSON copy of each file that
 * `osls package` writes. Importing `lib/routing/yaml` registers the parser, which the CLI,
 * `npm start`, packaging and the test setup do.
 */
export function registerYamlParser(parse: YamlParser): void {
  yamlParser = parse;
}

/**
 * Parses the text of a routing or schedule file. A name ending in `.json` is read with
 * `JSON.parse`, where a repeated key keeps its last value. Anything else is read as YAML 1.2, which
 * also accepts JSON, with the parser that {@link registerYamlParser} set. There a repeated key is
 * an error, because the later value would silently win.
 *
 * @throws ConfigError naming `origin` and, for YAML, the line and column. Also when the name
 *   does not end in `.json` and no YAML parser is registered.
 */
export function parseConfigText(text: string, origin: string): unknown {
  if (isJsonName(origin)) return parseJson(text, origin);
  if (yamlParser === undefined) {
    throw new ConfigError([
      `${origin}: cannot parse YAML, because this process loaded no YAML parser; the deployed functions read the JSON copy that osls package writes, so use that copy or a .json file`,
    ]);
  }
  return parseYaml(yamlParser, text, origin);
}

/**
 * Loads the YAML parser when `BRIDGE_ROUTES_FILE` or `BRIDGE_SCHEDULES_FILE` names a file that is
 * not JSON. The deployed functions read the JSON copies that `osls package` writes, so they skip
 * the parser. A YAML file set by hand still works, because the parser is loaded for it here.
 */
export async function loadYamlParserFor(env: Readonly<Record<string, string | undefined>>): Promise<void> {
  if (yamlParser !== undefined) return;
  const files = [env.BRIDGE_ROUTES_FILE?.trim(), env.BRIDGE_SCHEDULES_FILE?.trim()];
  if (files.some((file) => file !== undefined && file !== "" && !isJsonName(file))) await import("./yaml");
}

/**
 * Parses the text of a routing file fetched at run time, such as the value of an SSM parameter.
 * Text that starts with `{` and is valid JSON without a repeated key is read with `JSON.parse`.
 * Other text, repeated keys included, goes to the YAML parser, which is loaded on first need.
 * A function whose rules are JSON therefore never loads it, and a repeated key is still an error.
 *
 * NOTE: the JSON path relies on YAML 1.2 reading JSON text as `JSON.parse` does. A JSON text that
 * the YAML parser rejected would now be accepted, though none is known.
 *
 * @throws ConfigError naming `origin`, as {@link parseConfigText}.
 */
export async function parseFetchedConfigText(text: string, origin: string): Promise<unknown> {
  if (isJsonName(origin)) return parseJson(text, origin);
  if (text.trimStart().startsWith("{")) {
    const value = parseJsonWithoutRepeatedKeys(text);
    if (value !== undefined) return value;
  }
  // Registers the parser when the module first runs. esbuild bundles the module but runs it
  // only here, not when the function's bundle is imported.
  if (yamlParser === undefined) await import("./yaml");
  return parseConfigText(text, origin);
}

/**
 * Reads and parses a routing or schedule file.
 *
 * @throws ConfigError when the file cannot be read or parsed; `setting` names the variable that
 *   points at it.
 */
export function readConfigFile(path: string, setting: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([`${setting}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  if (!isJsonName(path) && yamlParser === undefined) {
    throw new ConfigError([
      `${setting}: cannot parse ${path} as YAML, because this process loaded no YAML parser; the deployed functions read the JSON copy that osls package writes, so set ${setting} to that copy or to a .json file`,
    ]);
  }
  return parseConfigText(text, path);
}

/**
 * Formats the path of a validation issue. Inside an entry of the named list (`rules`,
 * `schedules`) it names the entry by index and by its `name`, as in `rules[2] (name "k8s"): match`.
 */
export function locateIssue(input: unknown, path: readonly PropertyKey[], listKey: string): string {
  if (path[0] !== listKey || typeof path[1] !== "number") return formatPath(path);
  const list = input !== null && typeof input === "object" ? (input as Record<string, unknown>)[listKey] : undefined;
  const entry: unknown = Array.isArray(list) ? list[path[1]] : undefined;
  const name = entry !== null && typeof entry === "object" ? (entry as { name?: unknown }).name : undefined;
  const label = `${listKey}[${path[1]}] (${typeof name === "string" ? `name ${JSON.stringify(name.slice(0, 64))}` : "unnamed"})`;
  return path.length > 2 ? `${label}: ${formatPath(path.slice(2))}` : label;
}

function isJsonName(origin: string): boolean {
  return extname(origin).toLowerCase() === ".json";
}

function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError([`${origin}: invalid JSON: ${(error as Error).message}`]);
  }
}

function parseYaml(parse: YamlParser, text: string, origin: string): unknown {
  try {
    return parse(text);
  } catch (error) {
    throw new ConfigError([`${origin}: invalid YAML: ${(error as Error).message}`]);
  }
}

/** Returns the value of JSON text, or undefined when the text is not JSON or repeats a key in an object. */
function parseJsonWithoutRepeatedKeys(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return repeatsObjectKey(text) ? undefined : value;
}

/**
 * Reports whether valid JSON text repeats a key within one object. `JSON.parse` keeps the last
 * value of a repeated key, so the repetition shows only in the text.
 */
function repeatsObjectKey(text: string): boolean {
  // One entry per open container: the keys seen so far in an object, undefined for an array.
  const open: (Set<string> | undefined)[] = [];
  let expectingKey = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === "{") {
      open.push(new Set());
      expectingKey = true;
    } else if (char === "[") {
      open.push(undefined);
      expectingKey = false;
    } else if (char === "}" || char === "]") {
      open.pop();
      expectingKey = false;
    } else if (char === ",") {
      expectingKey = open.at(-1) !== undefined;
    } else if (char === '"') {
      // The text is valid JSON, so every string ends with an unescaped quote.
      let end = index + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (expectingKey) {
        // Decoded, so that "a" and "\u0061" count as the same key.
        const key = JSON.parse(text.slice(index, end + 1)) as string;
        const keys = open.at(-1)!;
        if (keys.has(key)) return true;
        keys.add(key);
        expectingKey = false;
      }
      index = end;
    }
  }
  return false;
}
