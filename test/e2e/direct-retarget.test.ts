import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redriveCommand } from "../../lib/cli/queue";
import { EMULATOR_DEFAULTS, startLocalBridge } from "../../lib/local/bridge";
import { readFixture } from "../helpers/fixtures";
import { postAlerts } from "../helpers/local-bridge";
import { MISSING_WORKFLOW_ID, startMissingWorkflowSetup, textSink, type MissingWorkflowSetup } from "./missing-workflow";

const RIGHT_WORKFLOW = EMULATOR_DEFAULTS.workflowId;

describe("direct mode with a wrong workflow, re-targeted by redrive", () => {
  let setup: MissingWorkflowSetup;
  let wrongIds: string[];

  beforeAll(async () => {
    setup = await startMissingWorkflowSetup();
  });
  afterAll(async () => {
    await setup.close();
  });

  it("dead-letters alerts of a wrong workflow", async () => {
    const answer = await postAlerts(setup.bridge.url, "alertmanager", readFixture("payloads/alertmanager-firing-group.json"));

    expect(answer.status).toBe(202);
    const results = answer.json.results as { action_instance_id: string; workflow_id: string; status: string }[];
    expect(results.map((result) => result.status)).toEqual(["dead-lettered", "dead-lettered", "dead-lettered"]);
    expect(results.every((result) => result.workflow_id === MISSING_WORKFLOW_ID)).toBe(true);
    wrongIds = results.map((result) => result.action_instance_id);
    expect(setup.emulator.instances()).toHaveLength(0);
  });

  it("starts each alert once after re-targeting", async () => {
    // The operator corrects the target and restarts the bridge on the same data folder.
    await setup.bridge.close();
    setup.bridge = await startLocalBridge({
      port: 0,
      dataDir: setup.dataDir,
      inMemoryStore: true,
      env: { ...setup.env, SECMASTER_WORKFLOW_ID: RIGHT_WORKFLOW },
    });
    const out = textSink();
    const err = textSink();

    const exitCode = await redriveCommand(["--data-dir", setup.dataDir, "--workflow-id", RIGHT_WORKFLOW, "--from-workflow", MISSING_WORKFLOW_ID], { out, err }, {});

    expect(exitCode).toBe(0);
    expect(out.text()).toContain("moved 3 dead-lettered jobs");
    expect(out.text().match(/^re-targeted /gm)).toHaveLength(3);
    await expect.poll(() => setup.emulator.instances().length, { timeout: 15_000 }).toBe(3);
    expect(setup.emulator.instances().map((instance) => instance.workflow_id)).toEqual([RIGHT_WORKFLOW, RIGHT_WORKFLOW, RIGHT_WORKFLOW]);
    expect(await setup.bridge.deadLetters!.approximateCount()).toBe(0);

    const again = await postAlerts(setup.bridge.url, "alertmanager", readFixture("payloads/alertmanager-firing-group.json"));

    expect(again.status).toBe(200);
    const repeated = again.json.results as { action_instance_id: string; workflow_id: string; status: string }[];
    expect(repeated.map((result) => result.status)).toEqual(["duplicate", "duplicate", "duplicate"]);
    const started = setup.emulator.instances().map((instance) => instance.instance_id);
    expect([...started].sort()).toEqual(repeated.map((result) => result.action_instance_id).sort());
    expect(started.some((id) => wrongIds.includes(id))).toBe(false);
    expect(setup.emulator.stats().created).toBe(3);
  });
});
