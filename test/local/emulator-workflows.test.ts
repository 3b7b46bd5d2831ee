import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalBridge } from "../../lib/local/bridge";
import { readFixture } from "../helpers/fixtures";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";

const WORKFLOW = (suffix: string) => `00000000-0000-4000-8000-00000000${suffix}`;

describe("workflows of the local emulator", () => {
  let bridge: LocalBridge;

  beforeAll(async () => {
    bridge = await startTestBridge({ env: { BRIDGE_MODE: "direct", BRIDGE_ROUTES_FILE: "config/routes.example.yaml" } });
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("serves every workflow the routing file targets in its workspace", () => {
    const served = bridge.emulatorWorkflows!;

    expect(served.workflows.map((workflow) => workflow.id)).toEqual([WORKFLOW("f001"), WORKFLOW("f002"), WORKFLOW("f004")]);
    expect(served.workflows[0]!.name).toBe("Alert triage (emulator)");
    expect(served.workflows[1]!).toEqual({ id: WORKFLOW("f002"), name: "Workflow f002 (emulator)", dataclassId: WORKFLOW("d001"), dataclassName: "Alert" });
  });

  it("keeps targets of other projects out", () => {
    const served = bridge.emulatorWorkflows!;

    expect(served.elsewhere).toHaveLength(1);
    expect(served.elsewhere[0]!.projectId).toBe("0000000000000000000000000000e002");
    expect(served.elsewhere[0]!.workspaceId).toBe("00000000-0000-4000-8000-00000000a002");
    expect(served.elsewhere[0]!.workflowId).toBe(WORKFLOW("f003"));
  });

  it("starts the resolve workflow of the example", async () => {
    const answer = await postAlerts(bridge.url, "alertmanager", readFixture("payloads/alertmanager-resolved.json"));

    expect(answer.status).toBe(200);
    expect(answer.json.results.map((result: { status: string }) => result.status)).toEqual(["created"]);
    expect(bridge.emulator!.instances().map((instance) => instance.workflow_id)).toEqual([WORKFLOW("f004")]);
  });
});

describe("workflows of scheduled runs", () => {
  let bridge: LocalBridge | undefined;
  const folder = mkdtempSync(join(tmpdir(), "secmaster-bridge-emulator-schedules-"));

  afterAll(async () => {
    await bridge?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it("serves the workflow a schedule targets", async () => {
    const file = join(folder, "schedules.yaml");
    writeFileSync(
      file,
      `schedules:
  - name: weekly-review
    expression: cron(0 9 ? * MON *)
    target: { workspace_id: 00000000-0000-4000-8000-00000000a001, workflow_id: ${WORKFLOW("f005")}, dataclass: { name: Incident } }
    alert: { severity: Low }
  - name: elsewhere
    expression: rate(1 day)
    target: { workspace_id: 00000000-0000-4000-8000-00000000a009, workflow_id: ${WORKFLOW("f006")} }
    alert: { severity: Low }
`,
    );

    bridge = await startTestBridge({ env: { BRIDGE_MODE: "direct", BRIDGE_SCHEDULES_FILE: file } });

    const served = bridge.emulatorWorkflows!;
    expect(served.workflows.map((workflow) => [workflow.id, workflow.dataclassName])).toEqual([
      [WORKFLOW("f001"), "Alert"],
      [WORKFLOW("f005"), "Incident"],
    ]);
    expect(served.elsewhere.map((target) => target.workflowId)).toEqual([WORKFLOW("f006")]);
  });
});
