import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../errors";

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
