import { AwsJsonClient, SSM } from "../aws/client";
import { BridgeError, ConfigError } from "../errors";
import type { DefaultTarget } from "../ingest";
import { logger } from "../logger";
import { compileRoutingFile, defaultRouteTable, type RouteTable } from "./compile";
import { parseFetchedConfigText, readConfigFile } from "./document";

/** Location of a deployment's routing rules; at most one of the two is set. */
export interface RoutingSettings {
  /**
   * Path of a YAML or JSON file shipped with the code (`BRIDGE_ROUTES_FILE`). The deployed
   * functions get the JSON copy that `osls package` writes, because they load no YAML parser.
   */
  file: string | undefined;
  /**
   * Name of an SSM parameter whose value is the file's text, JSON or YAML
   * (`BRIDGE_ROUTES_SSM_PARAMETER`). YAML text loads the YAML parser on the first read.
   */
  ssmParameter: string | undefined;
}

/** Reads the value of an SSM parameter. */
export type ParameterReader = (name: string) => Promise<string>;

/** Settings of {@link createRoutingSource}. */
export interface RoutingSourceOptions {
  /** Reads the SSM parameter. @default readSsmParameter */
  readParameter?: ParameterReader;
  /**
   * Ids of the sources the deployment accepts. A `match.source` that matches none of them is a
   * problem of the file. Without the list, `match.source` is not checked.
   */
  sourceIds?: readonly string[];
}

/** Supplies the routing table of a runtime. */
export interface RoutingSource {
  /** Origin of the rules, for logs. */
  origin: string;
  /**
   * Returns the table. A file is read when the source is created. An SSM parameter is read on the
   * first call, and its table is kept for the life of the process. A failed read is not kept, so
   * the next call tries again.
   */
  table(): Promise<RouteTable>;
}

/**
 * Creates the routing source of a runtime. A routing file is read and validated at once, so a
 * broken file stops the cold start; without settings every firing alert goes to `defaultTarget`.
 *
 * @throws ConfigError when both settings are given, or the file is unreadable or invalid.
 */
export function createRoutingSource(settings: RoutingSettings, defaultTarget: DefaultTarget, options: RoutingSourceOptions = {}): RoutingSource {
  const { readParameter = readSsmParameter, sourceIds } = options;
  if (settings.file !== undefined && settings.ssmParameter !== undefined) {
    throw new ConfigError(["BRIDGE_ROUTES_FILE: set either BRIDGE_ROUTES_FILE or BRIDGE_ROUTES_SSM_PARAMETER, not both"]);
  }
  if (settings.file !== undefined) {
    const table = readRoutingFile(settings.file, defaultTarget, "BRIDGE_ROUTES_FILE", sourceIds);
    logger.info("routing rules loaded", { origin: table.origin, rules: table.rules.length });
    return { origin: table.origin, table: () => Promise.resolve(table) };
  }
  const parameter = settings.ssmParameter;
  if (parameter === undefined) {
    const table = defaultRouteTable(defaultTarget);
    return { origin: table.origin, table: () => Promise.resolve(table) };
  }

  const origin = `ssm:${parameter}`;
  let pending: Promise<RouteTable> | undefined;
  return {
    origin,
    table: () => {
      pending ??= loadFromParameter(parameter, { origin, defaultTarget, sourceIds }, readParameter).catch((error: unknown) => {
        pending = undefined;
        throw error;
      });
      return pending;
    },
  };
}

/**
 * Reads, validates and compiles a routing file.
 *
 * @param setting Name of the variable or option that named the file, for a file that cannot be read.
 * @param sourceIds Ids of the known sources, to check `match.source` against; see {@link compileRoutingFile}.
 * @throws ConfigError listing every issue of the file.
 */
export function readRoutingFile(path: string, defaultTarget: DefaultTarget, setting = "BRIDGE_ROUTES_FILE", sourceIds?: readonly string[]): RouteTable {
  return compileRoutingFile(readConfigFile(path, setting), { origin: path, defaultTarget, sourceIds });
}

async function loadFromParameter(
  parameter: string,
  compileOptions: { origin: string; defaultTarget: DefaultTarget; sourceIds: readonly string[] | undefined },
  readParameter: ParameterReader,
): Promise<RouteTable> {
  const { origin } = compileOptions;
  let text: string;
  try {
    text = await readParameter(parameter);
  } catch (error) {
    if (error instanceof BridgeError) throw error;
    const name = error instanceof Error ? error.name : "Error";
    throw new BridgeError("BRIDGE.ROUTES_UNAVAILABLE", `failed to read the routing rules from SSM parameter ${parameter}: ${name}`, {
      statusCode: 503,
      cause: error,
      fix: "check that the parameter exists and that the function's role may call ssm:GetParameter on it",
    });
  }
  const table = compileRoutingFile(await parseFetchedConfigText(text, origin), compileOptions);
  logger.info("routing rules loaded", { origin, rules: table.rules.length });
  return table;
}

let ssmClient: AwsJsonClient | undefined;

/**
 * Reads an SSM parameter with `GetParameter`, decrypting a SecureString. The client is made on
 * first use from the environment (region, credentials, endpoint) and kept, so later reads reuse
 * its connections.
 *
 * @throws AwsServiceError when SSM returns an error, such as `ParameterNotFound`.
 * @throws BridgeError `BRIDGE.ROUTES_UNAVAILABLE` (503) when the parameter has no value.
 */
export async function readSsmParameter(name: string): Promise<string> {
  ssmClient ??= new AwsJsonClient({ service: SSM });
  const response = await ssmClient.call<{ Parameter?: { Value?: string } }>("GetParameter", { Name: name, WithDecryption: true });
  const value = response.Parameter?.Value;
  if (value === undefined) {
    throw new BridgeError("BRIDGE.ROUTES_UNAVAILABLE", `SSM parameter ${name} has no value`, { statusCode: 503 });
  }
  return value;
}
