import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { EMULATOR_DEFAULTS, startLocalBridge, type LocalBridge } from "../../lib/local/bridge";
import { startEmulator, type EmulatorWorkflow, type RunningEmulator } from "../../lib/local/emulator";

const ACCESS_KEY = "TESTACCESSKEY0000002";
const SECRET_KEY = "missing-workflow-test-secret";

/** A workflow that {@link startEmulatorWith} serves only when asked, as when a routing rule names a wrong id. */
export const MISSING_WORKFLOW_ID = "00000000-0000-4000-8000-00000000f002";

/** The emulator's default workflow. */
export const TRIAGE_WORKFLOW: EmulatorWorkflow = { id: EMULATOR_DEFAULTS.workflowId, name: "triage", dataclassId: "dc1", dataclassName: "Alert" };

/** The missing workflow, once an operator has created it. */
export const CREATED_LATER_WORKFLOW: EmulatorWorkflow = { id: MISSING_WORKFLOW_ID, name: "created later", dataclassId: "dc1", dataclassName: "Alert" };

/** Starts an emulator that serves exactly `workflows` and rejects any other with `SecMaster.20030001`. */
export function startEmulatorWith(workflows: EmulatorWorkflow[], port = 0): Promise<RunningEmulator> {
  return startEmulator({
    port,
    projectId: EMULATOR_DEFAULTS.projectId,
    credentials: [{ accessKey: ACCESS_KEY, secretKey: SECRET_KEY }],
    workspaces: [{ workspaceId: EMULATOR_DEFAULTS.workspaceId, workflows }],
  });
}

/** A direct-mode bridge whose default workflow SecMaster does not have, with its emulator and data folder. */
export interface MissingWorkflowSetup {
  /** The emulator the bridge calls; a test may replace it with one on the same port. */
  emulator: RunningEmulator;
  /** The bridge; a test may replace it with one on the same data folder. */
  bridge: LocalBridge;
  /** The bridge's settings, for a restart with a corrected one. */
  env: Record<string, string>;
  dataDir: string;
  /** Stops the current bridge and emulator, and removes the data folder. */
  close(): Promise<void>;
}

/**
 * Starts an emulator that serves only the default workflow and a direct-mode bridge in a fresh
 * data folder whose default workflow is {@link MISSING_WORKFLOW_ID}, so every start is rejected.
 */
export async function startMissingWorkflowSetup(): Promise<MissingWorkflowSetup> {
  const dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-test-"));
  const emulator = await startEmulatorWith([TRIAGE_WORKFLOW]);
  const env = {
    BRIDGE_MODE: "direct",
    SECMASTER_ENDPOINT: emulator.url,
    SECMASTER_PROJECT_ID: EMULATOR_DEFAULTS.projectId,
    SECMASTER_WORKSPACE_ID: EMULATOR_DEFAULTS.workspaceId,
    SECMASTER_WORKFLOW_ID: MISSING_WORKFLOW_ID,
    SECMASTER_AK: ACCESS_KEY,
    SECMASTER_SK: SECRET_KEY,
  };
  const bridge = await startLocalBridge({ port: 0, dataDir, inMemoryStore: true, env });
  const setup: MissingWorkflowSetup = {
    emulator,
    bridge,
    env,
    dataDir,
    close: async () => {
      await setup.bridge.close();
      await setup.emulator.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return setup;
}

/** Creates a stream that keeps what a CLI command writes, for `out` and `err`. */
export function textSink(): PassThrough & { text(): string } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk.toString("utf8")));
  return Object.assign(stream, { text: () => chunks.join("") });
}
