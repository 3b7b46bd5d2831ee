import { readFileSync } from "node:fs";
import { loadConfig } from "../config";
import { ConfigError, SecMasterError } from "../errors";
import { parseCommandArgs } from "./args";
import { reportCliError } from "./errors";
import { normalizeDelivery, type DefaultTarget } from "../ingest";
import { EMULATOR_DEFAULTS, hasSecMasterCredentials } from "../local/bridge";
import { defaultRouteTable, type RouteTable, type RouteTarget } from "../routing/compile";
import { routeAlert, type RouteDecision } from "../routing/match";
import { readRoutingFile } from "../routing/load";
import type { WorkflowInfo } from "../secmaster/schemas";
import { BUILT_IN_SOURCES } from "../sources/index";
import type { NormalizedAlert } from "../sources/types";
import { cliClients } from "./clients";
import { withLocalBridge } from "./local-bridge";
import { findCliSource, loadCliGenericSources, parseDeliveryText } from "./sources";
import { formatCount, formatTable } from "./table";

/** Output streams of a CLI command. */
export interface CliIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

type Env = Readonly<Record<string, string | undefined>>;

export const ROUTES_USAGE = `  routes check FILE                Validate a routing file and list every problem of every rule,
                                   including match.source ids that no built-in source and no
                                   generic source of --mapping has. With SecMaster credentials in
                                   the environment, also check that each workflow exists, is
                                   enabled and runs on the target's data class; without them,
                                   check against the emulator of the npm start running on the
                                   data folder, if there is one.
      --mapping FILE               Mapping file of a generic JSON source, repeatable (default: the
                                   files of BRIDGE_GENERIC_MAPPINGS).
      --data-dir DIR               Folder of that local bridge (default: BRIDGE_DATA_DIR or .data).
  routes explain --source SOURCE [--routes FILE] FILE
                                   Show which rule matched each alert of a delivery, and why.
      --routes FILE                Routing file (default: BRIDGE_ROUTES_FILE; without one, the
                                   SECMASTER_* default target).
      --mapping FILE               Mapping file of a generic JSON source, repeatable (default: the
                                   files of BRIDGE_GENERIC_MAPPINGS).
      --received-at TIME           Receipt time to use, RFC 3339 (default: now).
                                   FILE holds the JSON body the sender posts, or raw CEF lines for a
                                   cef source.`;

/** Runs `secmaster-bridge routes …` and returns the exit code. */
export async function routesCommand(args: string[], io: CliIo, env: Env = process.env): Promise<number> {
  const [subcommand, ...rest] = args;
  try {
    if (subcommand === "check") return await checkRoutes(rest, io, env);
    if (subcommand === "explain") return explainRoutes(rest, io, env);
  } catch (error) {
    return reportCliError(error, io);
  }
  io.err.write(`routes needs the subcommand check or explain\n\n${ROUTES_USAGE}\n`);
  return 2;
}

/**
 * Returns the deployment's default target from the `SECMASTER_*` variables, falling back to the
 * ids the local emulator serves, as `secmaster-bridge normalize` does.
 */
export function defaultTargetFromEnv(env: Env): DefaultTarget {
  const text = (name: string) => (env[name]?.trim() === "" ? undefined : env[name]?.trim());
  const dataclassName = text("SECMASTER_DATACLASS_NAME") ?? EMULATOR_DEFAULTS.dataclassName;
  const dataclassId = text("SECMASTER_DATACLASS_ID");
  return {
    projectId: text("SECMASTER_PROJECT_ID") ?? EMULATOR_DEFAULTS.projectId,
    workspaceId: text("SECMASTER_WORKSPACE_ID") ?? EMULATOR_DEFAULTS.workspaceId,
    workflowId: text("SECMASTER_WORKFLOW_ID") ?? EMULATOR_DEFAULTS.workflowId,
    dataclass: dataclassId === undefined ? { name: dataclassName } : { id: dataclassId, name: dataclassName },
  };
}

async function checkRoutes(args: string[], io: CliIo, commandEnv: Env): Promise<number> {
  const { values, positionals } = parseCommandArgs("routes check", {
    args,
    allowPositionals: true,
    options: { mapping: { type: "string", multiple: true }, "data-dir": { type: "string" } },
  });
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) {
    io.err.write("routes check needs exactly one FILE\n");
    return 2;
  }
  const env = withLocalBridge(commandEnv, values["data-dir"], io.err);
  const sourceIds = [...Object.keys(BUILT_IN_SOURCES), ...Object.keys(loadCliGenericSources(values.mapping, env))];
  let table: RouteTable;
  try {
    table = readRoutingFile(file, defaultTargetFromEnv(env), "routes file", sourceIds);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // compileRoutingFile lists the problems of every rule, so one run shows all there are to fix.
    const count = formatCount(error.issues.length, "problem");
    io.err.write(`${file}: invalid routing file, ${count}\n${error.issues.map((issue) => `  - ${issue}`).join("\n")}\n`);
    return 1;
  }
  io.out.write(`${file}: valid, ${formatCount(table.rules.length, "rule")}\n`);
  if (!hasSecMasterCredentials(env)) {
    io.out.write(
      "workflows not checked: set SECMASTER_AK and SECMASTER_SK (or SECMASTER_AUTH_TOKEN) to check each workflow in SecMaster, " +
        "or run npm start on the data folder to check them in its emulator\n",
    );
    return 0;
  }

  const rows = await checkWorkflows(table, env);
  const rejected = rows.filter((row) => row.credentialsRejected !== undefined);
  const credentialsFix = "check SECMASTER_AK and SECMASTER_SK (or SECMASTER_AUTH_TOKEN) and the project ids";
  if (rows.length > 0 && rejected.length === rows.length) {
    io.err.write(`SecMaster rejected the credentials (${rejected[0]!.credentialsRejected}), so no workflow was checked; ${credentialsFix}\n`);
    return 1;
  }
  io.out.write(`${formatTable(["RULE", "PROJECT", "WORKSPACE", "WORKFLOW", "NAME", "ENABLED", "DATACLASS", "RESULT"], rows.map((row) => row.cells))}\n`);
  const failed = rows.filter((row) => !row.ok).length;
  if (failed > 0) io.err.write(`${failed} of ${formatCount(rows.length, "target")} failed the check\n`);
  if (rejected.length > 0) io.err.write(`SecMaster rejected the credentials for ${formatCount(rejected.length, "target")}; ${credentialsFix}\n`);
  return failed === 0 ? 0 : 1;
}

interface CheckRow {
  cells: string[];
  ok: boolean;
  /** Status and code of a 401 response, which rejects the credentials rather than the target. */
  credentialsRejected?: string;
}

async function checkWorkflows(table: RouteTable, env: Env): Promise<CheckRow[]> {
  const { secmaster } = loadConfig(env);
  const clients = cliClients(secmaster);
  const lookups = new Map<string, Promise<WorkflowInfo | SecMasterError>>();
  const lookup = (target: RouteTarget) => {
    const key = `${target.projectId}/${target.workspaceId}/${target.workflowId}`;
    let pending = lookups.get(key);
    if (pending === undefined) {
      pending = clients
        .get(target.projectId)
        .showWorkflow({ workspaceId: target.workspaceId, workflowId: target.workflowId })
        .catch((error: unknown) => {
          if (error instanceof SecMasterError) return error;
          throw error;
        });
      lookups.set(key, pending);
    }
    return pending;
  };

  const entries: { rule: string; target: RouteTarget }[] = [
    ...table.rules.flatMap((rule) => rule.targets.map((target) => ({ rule: rule.name, target }))),
    ...table.defaultTargets.map((target) => ({ rule: "(default)", target })),
  ];
  try {
    const rows: CheckRow[] = [];
    for (const { rule, target } of entries) rows.push(describeCheck(rule, target, await lookup(target)));
    return rows;
  } finally {
    for (const client of clients.values()) await client.close();
  }
}

function describeCheck(rule: string, target: RouteTarget, found: WorkflowInfo | SecMasterError): CheckRow {
  const ids = [rule, target.projectId, target.workspaceId, target.workflowId];
  if (found instanceof SecMasterError) {
    const code = found.errorCode ?? found.code;
    if (found.httpStatus === 401) return { cells: [...ids, "-", "-", "-", "credentials rejected"], ok: false, credentialsRejected: `401 ${code}` };
    const result = found.httpStatus >= 400 && found.httpStatus < 500 ? `not found or not permitted: ${found.httpStatus} ${code}` : `check failed: ${found.message}`;
    return { cells: [...ids, "-", "-", "-", result], ok: false };
  }

  const problems: string[] = [];
  if (found.enabled === false) problems.push("workflow is disabled");
  if (found.dataclass_name != null && found.dataclass_name !== target.dataclass.name) {
    problems.push(`data class ${target.dataclass.name} expected, workflow runs on ${found.dataclass_name}`);
  }
  if (target.dataclass.id !== undefined && found.dataclass_id != null && found.dataclass_id !== target.dataclass.id) {
    problems.push(`data class id ${target.dataclass.id} expected, workflow has ${found.dataclass_id}`);
  }
  let enabled = "unknown";
  if (found.enabled != null) enabled = found.enabled ? "yes" : "no";
  return {
    cells: [...ids, found.name ?? "", enabled, found.dataclass_name ?? "unknown", problems.length === 0 ? "ok" : problems.join("; ")],
    ok: problems.length === 0,
  };
}

function explainRoutes(args: string[], io: CliIo, env: Env): number {
  const { values, positionals } = parseCommandArgs("routes explain", {
    args,
    allowPositionals: true,
    options: {
      source: { type: "string" },
      routes: { type: "string" },
      mapping: { type: "string", multiple: true },
      "received-at": { type: "string" },
    },
  });
  const file = positionals[0];
  if (values.source === undefined || file === undefined) {
    io.err.write("routes explain needs --source SOURCE and a delivery FILE\n");
    return 2;
  }
  const source = findCliSource(values.source, values.mapping, env, io.err);
  if (source === undefined) return 2;
  const { adapter } = source;

  const defaultTarget = defaultTargetFromEnv(env);
  const routesFile = values.routes ?? (env.BRIDGE_ROUTES_FILE?.trim() || undefined);
  const table = routesFile === undefined ? defaultRouteTable(defaultTarget) : readRoutingFile(routesFile, defaultTarget);
  const receivedAt = values["received-at"] === undefined ? new Date() : new Date(values["received-at"]);
  // A delivery file reads as `normalize` and `replay` read it: JSON, or raw CEF lines of a cef source.
  const body = parseDeliveryText(readFileSync(file, "utf8"), file, adapter);
  const alerts = normalizeDelivery({ adapter, body, receivedAt }, { defaultSeverity: "Medium" });

  // Without a routing file, the table is the one default target of the SECMASTER_* settings.
  const rules = table.rules.length === 0 && routesFile === undefined ? "no routing file, every alert to the SECMASTER_* default target" : `rules from ${table.origin}`;
  io.out.write(`${rules}; ${formatCount(alerts.length, "alert")} in ${file}\n`);
  alerts.forEach((alert, index) => {
    io.out.write(`\n${explainAlert(alert, index, alerts.length, table)}\n`);
  });
  return 0;
}

function explainAlert(alert: NormalizedAlert, index: number, count: number, table: RouteTable): string {
  const severity = alert.content.severity ?? "no severity";
  const title = alert.content.title === undefined ? "" : ` ${JSON.stringify(alert.content.title.slice(0, 80))}`;
  const lines = [`alert ${index + 1} of ${count}: ${alert.source} ${alert.key} (${alert.status}, ${severity})${title}`];
  if (alert.skipReason !== undefined) {
    lines.push(`  => skipped before routing: ${alert.skipReason}`);
    return lines.join("\n");
  }

  const decision = routeAlert(alert, table);
  for (const entry of decision.trace) {
    const rule = table.rules[entry.index]!;
    const flags: string[] = [];
    if (entry.outcome === "matched" && rule.drop) flags.push("drop");
    if (entry.outcome === "matched" && rule.stop) flags.push("stop");
    lines.push(`  rules[${entry.index}] ${entry.rule}: ${entry.outcome}${flags.length > 0 ? ` (${flags.join(", ")})` : ""}`);
    for (const detail of entry.details) lines.push(`      ${detail}`);
  }
  lines.push(`  => ${describeDecision(alert, decision)}`);
  return lines.join("\n");
}

function describeDecision(alert: NormalizedAlert, decision: RouteDecision): string {
  if (decision.droppedBy !== undefined) return `dropped by rule ${decision.droppedBy}`;
  if (decision.targets.length === 0) {
    return alert.status === "resolved" ? "nothing starts: no rule sends resolved alerts to a resolve workflow" : "nothing starts: no rule matched and the default drops unmatched alerts";
  }
  const targets = decision.targets.map(({ target, rule }) => `workflow ${target.workflowId} in workspace ${target.workspaceId} of project ${target.projectId} (${rule === undefined ? "default" : `rule ${rule}`})`);
  return `starts ${targets.join(", ")}`;
}
