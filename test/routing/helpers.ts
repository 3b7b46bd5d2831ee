import type { DefaultTarget } from "../../lib/ingest";
import type { NormalizedAlert } from "../../lib/sources/types";

export const WORKSPACE = "11111111-2222-4333-8444-555555555555";
export const DEFAULT_TARGET: DefaultTarget = {
  projectId: "0000000000000000000000000000e001",
  workspaceId: WORKSPACE,
  workflowId: "00000000-0000-4000-8000-00000000f001",
  dataclass: { id: "00000000-0000-4000-8000-00000000d001", name: "Alert" },
};

/** Workflow id number `n` of the routing tests. */
export function workflow(n: number): string {
  return `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

/** Returns the routing-file target of workflow number `n`. */
export function target(n: number): { workspace_id: string; workflow_id: string } {
  return { workspace_id: WORKSPACE, workflow_id: workflow(n) };
}

/** Builds a normalized firing alert, with any part overridden. */
export function alert(overrides: Partial<NormalizedAlert> & { content?: NormalizedAlert["content"] } = {}): NormalizedAlert {
  return {
    source: "alertmanager",
    scope: "",
    key: "5b0f5b2d5f635dca",
    episode: "2024-05-14T08:02:11.482Z",
    status: "firing",
    ...overrides,
    content: { title: "SSH failures", severity: "High", ...overrides.content },
  };
}
