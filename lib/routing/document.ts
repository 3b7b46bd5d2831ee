import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../errors";
import { formatPath } from "../sources/parse";

/**
 * Parses the text of a routing or schedule file. JSON is read with `JSON.parse` when the name ends
 * in `.json`; anything else is read as YAML 1.2, which also accepts JSON. Duplicate keys are
 * errors, because the later value would silently win.
 *
 * @throws ConfigError naming `origin` and, for YAML, the line and column.
 */
export function parseConfigText(text: string, origin: string): unknown {
  if (extname(origin).toLowerCase() === ".json") {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new ConfigError([`${origin}: invalid JSON: ${(error as Error).message}`]);
    }
  }
  try {
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 }) as unknown;
  } catch (error) {
    throw new ConfigError([`${origin}: invalid YAML: ${(error as Error).message}`]);
  }
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
