import { loadConfig, type BridgeConfig } from "../config";
import { ConfigError, collectIssues } from "../errors";
import type { RouteTable } from "../routing/compile";
import { readRoutingFile } from "../routing/load";
import { checkSourceOptions, loadGenericSources } from "../runtime";
import { readSchedulesFile, type Schedule } from "../schedule/load";
import { BUILT_IN_SOURCES } from "../sources/index";
import { parseFaults } from "./emulator";
import { defaultTargetOf } from "./local-emulator";

/** Settings and files of a local bridge, read before it starts anything. */
export interface LocalSettings {
  config: BridgeConfig;
  /** The compiled routing file of `BRIDGE_ROUTES_FILE`, when it names one. */
  routes: RouteTable | undefined;
  /** The schedules of `BRIDGE_SCHEDULES_FILE`, when it names a file. */
  schedules: readonly Schedule[] | undefined;
}

/**
 * Checks what `npm start` reads before the data folder and the stores open: the environment, the
 * generic mappings with `BRIDGE_SOURCE_OPTIONS`, the routing and schedules files, and
 * `SECMASTER_EMULATOR_FAULTS` when the emulator runs. A second bridge on a folder in use thus
 * reports its configuration problems first. The runtime reads the files again when it starts.
 *
 * @param env The environment with the emulator's settings filled in, when the emulator runs.
 * @throws ConfigError listing every problem found.
 */
export function checkLocalSettings(env: Readonly<Record<string, string | undefined>>, withEmulator: boolean): LocalSettings {
  // With problems in the environment, loadConfig checks the files itself. The option makes it
  // check match.source there too, so the list matches `routes check` whatever else is wrong.
  const config = loadConfig(env, { checkRouteSources: true });
  const issues: string[] = [];
  const collect = <T>(read: () => T): T | undefined => collectIssues(issues, read);

  if (withEmulator && env.SECMASTER_EMULATOR_FAULTS !== undefined) collect(() => parseFaults(env.SECMASTER_EMULATOR_FAULTS!));
  const genericSources = collect(() => loadGenericSources(config.ingest.genericMappingFiles));
  if (genericSources !== undefined) collect(() => checkSourceOptions(config.ingest.sourceOptions, genericSources));
  // Without every mapping the source ids are incomplete, so the rules' sources are not checked then.
  const sourceIds = genericSources === undefined ? undefined : [...Object.keys(BUILT_IN_SOURCES), ...Object.keys(genericSources)];
  const routesFile = config.routing.file;
  const routes = routesFile === undefined ? undefined : collect(() => readRoutingFile(routesFile, defaultTargetOf(config), "BRIDGE_ROUTES_FILE", sourceIds));
  const schedulesFile = config.schedulesFile;
  const schedules = schedulesFile === undefined ? undefined : collect(() => readSchedulesFile(schedulesFile));

  if (issues.length > 0) throw new ConfigError(issues);
  return { config, routes, schedules };
}
