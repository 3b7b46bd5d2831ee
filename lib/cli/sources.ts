import { loadGenericSources } from "../runtime";
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
