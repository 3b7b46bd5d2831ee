import type { BridgeConfig } from "../config";
import type { DefaultTarget } from "../ingest";
import type { RouteTable } from "../routing/compile";
import type { Schedule } from "../schedule/load";
import type { EmulatorWorkflow } from "./emulator-types";

type Env = Readonly<Record<string, string | undefined>>;

/** Ids the embedded emulator serves; `npm start` fills the SecMaster settings with them. */
export const EMULATOR_DEFAULTS = {
  projectId: "0000000000000000000000000000e001",
  workspaceId: "00000000-0000-4000-8000-00000000a001",
  workflowId: "00000000-0000-4000-8000-00000000f001",
  workflowName: "Alert triage (emulator)",
  dataclassId: "00000000-0000-4000-8000-00000000d001",
  dataclassName: "Alert",
} as const;

/** The key pair that a local bridge makes up for its emulator. */
export interface EmulatorKeys {
  accessKey: string;
  secretKey: string;
}

/**
 * Returns the SecMaster settings that point a local bridge at its embedded emulator at
 * `emulatorUrl`. `SECMASTER_WORKFLOW_ID` keeps the value of `env`, so the default workflow can be
 * any id, which the emulator then serves too.
 */
export function emulatorSettings(env: Env, emulatorUrl: string, keys: EmulatorKeys): Record<string, string | undefined> {
  return {
    SECMASTER_ENDPOINT: emulatorUrl,
    SECMASTER_REGION: undefined,
    SECMASTER_PROJECT_ID: EMULATOR_DEFAULTS.projectId,
    SECMASTER_WORKSPACE_ID: EMULATOR_DEFAULTS.workspaceId,
    SECMASTER_WORKFLOW_ID: env.SECMASTER_WORKFLOW_ID ?? EMULATOR_DEFAULTS.workflowId,
    SECMASTER_DATACLASS_ID: EMULATOR_DEFAULTS.dataclassId,
    SECMASTER_DATACLASS_NAME: EMULATOR_DEFAULTS.dataclassName,
    SECMASTER_AK: keys.accessKey,
    SECMASTER_SK: keys.secretKey,
  };
}

/** Returns the target of the `SECMASTER_*` settings, which receives every alert no rule routes elsewhere. */
export function defaultTargetOf(config: BridgeConfig): DefaultTarget {
  const { secmaster } = config;
  return {
    projectId: secmaster.projectId,
    workspaceId: secmaster.workspaceId,
    workflowId: secmaster.workflowId,
    dataclass: secmaster.dataclassId === undefined ? { name: secmaster.dataclassName } : { id: secmaster.dataclassId, name: secmaster.dataclassName },
  };
}

/** Workflows the embedded emulator serves, and the targets it rejects. */
export interface ServedWorkflows {
  /** Workflows of the emulator's one workspace: the default one first, then those the files target. */
  workflows: EmulatorWorkflow[];
  /** Targets in another project or workspace, which the emulator rejects as SecMaster rejects an unknown one. */
  elsewhere: DefaultTarget[];
}

/**
 * Lists the workflows the embedded emulator serves: the default target's workflow and every
 * workflow that the routing file and the schedules target in the emulator's project and
 * workspace, each on the data class its target names. So a routing file written for one
 * workspace runs locally without changes.
 */
export function servedWorkflows(config: BridgeConfig, routes: RouteTable | undefined, schedules: readonly Schedule[] | undefined): ServedWorkflows {
  const defaultTarget = defaultTargetOf(config);
  const targets: DefaultTarget[] = [defaultTarget, ...(routes?.rules.flatMap((rule) => rule.targets) ?? []), ...(routes?.defaultTargets ?? [])];
  for (const schedule of schedules ?? []) {
    const target = schedule.target;
    targets.push({
      projectId: target?.project_id ?? defaultTarget.projectId,
      workspaceId: target?.workspace_id ?? defaultTarget.workspaceId,
      workflowId: target?.workflow_id ?? defaultTarget.workflowId,
      dataclass: target?.dataclass ?? defaultTarget.dataclass,
    });
  }

  const workflows = new Map<string, EmulatorWorkflow>();
  const elsewhere = new Map<string, DefaultTarget>();
  for (const target of targets) {
    if (target.projectId !== EMULATOR_DEFAULTS.projectId || target.workspaceId !== EMULATOR_DEFAULTS.workspaceId) {
      elsewhere.set(`${target.projectId}/${target.workspaceId}/${target.workflowId}`, target);
      continue;
    }
    // The first target of a workflow decides its data class, so `routes check` reports a later
    // target that names another one.
    if (workflows.has(target.workflowId)) continue;
    workflows.set(target.workflowId, {
      id: target.workflowId,
      name: target.workflowId === EMULATOR_DEFAULTS.workflowId ? EMULATOR_DEFAULTS.workflowName : `Workflow ${target.workflowId.slice(-4)} (emulator)`,
      dataclassId: target.dataclass.id ?? EMULATOR_DEFAULTS.dataclassId,
      dataclassName: target.dataclass.name,
    });
  }
  return { workflows: [...workflows.values()], elsewhere: [...elsewhere.values()] };
}

/** Settings that a CLI command takes from a local bridge only where its own environment lacks them. */
const CLI_DEFAULT_SETTINGS = new Set(["SECMASTER_WORKFLOW_ID", "BRIDGE_DYNAMODB_ENDPOINT", "BRIDGE_IDEMPOTENCY_TABLE"]);

/**
 * Returns the settings a CLI command in another shell needs to reach a local bridge's emulator
 * and idempotency store, as the bridge records them in its data folder.
 */
export function cliSettingsOf(config: BridgeConfig, dynamodbEndpoint: string): Record<string, string> {
  const { secmaster } = config;
  if (secmaster.endpoint === undefined || secmaster.credentials.kind !== "aksk") {
    throw new TypeError("cliSettingsOf needs the emulator's endpoint and key pair in the configuration");
  }
  return {
    SECMASTER_ENDPOINT: secmaster.endpoint,
    SECMASTER_PROJECT_ID: secmaster.projectId,
    SECMASTER_WORKSPACE_ID: secmaster.workspaceId,
    SECMASTER_WORKFLOW_ID: secmaster.workflowId,
    SECMASTER_DATACLASS_ID: secmaster.dataclassId ?? EMULATOR_DEFAULTS.dataclassId,
    SECMASTER_DATACLASS_NAME: secmaster.dataclassName,
    SECMASTER_AK: secmaster.credentials.accessKey,
    SECMASTER_SK: secmaster.credentials.secretKey,
    BRIDGE_DYNAMODB_ENDPOINT: dynamodbEndpoint,
    BRIDGE_IDEMPOTENCY_TABLE: config.idempotency.tableName,
  };
}

/**
 * Merges a local bridge's recorded settings into a CLI command's environment. The emulator's
 * endpoint, ids and key pair replace those of `env`, as `npm start` replaces them. The default
 * workflow, the DynamoDB endpoint and the table name apply only where `env` does not set them.
 */
export function withCliSettings(env: Env, settings: Readonly<Record<string, string>>): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...env, SECMASTER_REGION: undefined };
  for (const [name, value] of Object.entries(settings)) {
    if (!CLI_DEFAULT_SETTINGS.has(name) || env[name] === undefined || env[name].trim() === "") merged[name] = value;
  }
  return merged;
}
