import { startEmulator, type EmulatorWorkflow, type RunningEmulator } from "../../lib/local/emulator";

/** Ids of the emulator that the routing and schedule tests start. */
export const ROUTING_IDS = {
  projectId: "0000000000000000000000000000e001",
  workspaceId: "11111111-2222-4333-8444-555555555555",
  defaultWorkflowId: "00000000-0000-4000-8000-00000000f001",
  dataclassId: "dddddddd-0000-4000-8000-000000000001",
  accessKey: "ROUTINGTESTKEY000001",
  secretKey: "routing-test-secret-key",
} as const;

/** Workflow number `n` of the routing fixtures, such as `aaaaaaaa-0000-4000-8000-000000000003`. */
export function routedWorkflowId(n: number): string {
  return `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

/**
 * Starts an emulator on a free port with the default workflow and routed workflows 1 to 5, all on
 * the Alert data class. Extra workflows replace same-id ones.
 */
export async function startRoutingEmulator(extra: EmulatorWorkflow[] = []): Promise<{ emulator: RunningEmulator; env: Record<string, string> }> {
  const workflows = new Map<string, EmulatorWorkflow>();
  for (const id of [ROUTING_IDS.defaultWorkflowId, ...[1, 2, 3, 4, 5].map(routedWorkflowId)]) {
    workflows.set(id, { id, name: `workflow ${id.slice(-2)}`, dataclassId: ROUTING_IDS.dataclassId, dataclassName: "Alert" });
  }
  for (const workflow of extra) workflows.set(workflow.id, workflow);

  const emulator = await startEmulator({
    port: 0,
    projectId: ROUTING_IDS.projectId,
    credentials: [{ accessKey: ROUTING_IDS.accessKey, secretKey: ROUTING_IDS.secretKey }],
    workspaces: [{ workspaceId: ROUTING_IDS.workspaceId, workflows: [...workflows.values()] }],
  });
  const env = {
    SECMASTER_ENDPOINT: emulator.url,
    SECMASTER_PROJECT_ID: ROUTING_IDS.projectId,
    SECMASTER_WORKSPACE_ID: ROUTING_IDS.workspaceId,
    SECMASTER_WORKFLOW_ID: ROUTING_IDS.defaultWorkflowId,
    SECMASTER_DATACLASS_ID: ROUTING_IDS.dataclassId,
    SECMASTER_DATACLASS_NAME: "Alert",
    SECMASTER_AK: ROUTING_IDS.accessKey,
    SECMASTER_SK: ROUTING_IDS.secretKey,
    BRIDGE_MODE: "direct",
  };
  return { emulator, env };
}
