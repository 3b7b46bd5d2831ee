import { describe, expect, it } from "vitest";
import { createInstanceBody, retargetJob } from "../../lib/delivery/job";
import { decodeEnvelope, encodeEnvelope, newEnvelope } from "../../lib/delivery/queue";
import { readSchedulesFile } from "../../lib/schedule/load";
import { findSchedule, planScheduledRun } from "../../lib/schedule/run";
import { jobFor, PROJECT_ID, WORKSPACE_ID } from "./harness";
import { ID_FOR_RIGHT, ID_FOR_WRONG, misroutedJob, RIGHT_WORKFLOW, WRONG_WORKFLOW } from "./misrouted";

describe("re-targeting a start job", () => {
  it("derives the new workflow's id", () => {
    const result = retargetJob(misroutedJob(), { workflowId: RIGHT_WORKFLOW });

    expect(result.ok).toBe(true);
    const job = result.ok ? result.job : misroutedJob();
    expect(job.actionInstanceId).toBe(ID_FOR_RIGHT);
    expect(job.workflowId).toBe(RIGHT_WORKFLOW);
    expect(job.workspaceId).toBe(WORKSPACE_ID);
    expect(job.projectId).toBe(PROJECT_ID);
    expect(createInstanceBody(job)).toMatchObject({ action_id: RIGHT_WORKFLOW, action_instance_id: ID_FOR_RIGHT });
  });

  it("changes workspace and project", () => {
    const old = misroutedJob({ content: { title: "Disk full", workspace_id: WORKSPACE_ID } });

    const result = retargetJob(old, { workflowId: RIGHT_WORKFLOW, workspaceId: "00000000-0000-4000-8000-00000000a002", projectId: "0000000000000000000000000000e002" });

    expect(result).toMatchObject({
      ok: true,
      job: {
        actionInstanceId: ID_FOR_RIGHT,
        workspaceId: "00000000-0000-4000-8000-00000000a002",
        projectId: "0000000000000000000000000000e002",
        content: { title: "Disk full", workspace_id: "00000000-0000-4000-8000-00000000a002" },
      },
    });
    expect(old.workspaceId).toBe(WORKSPACE_ID);
  });

  it("re-targets a scheduled run", () => {
    const schedule = findSchedule(readSchedulesFile("test/fixtures/schedule/schedules.yaml"), "nightly-posture");
    const run = planScheduledRun(schedule, "2026-01-15T18:00:00.000Z", {
      projectId: PROJECT_ID,
      workspaceId: WORKSPACE_ID,
      workflowId: "00000000-0000-4000-8000-00000000f001",
      dataclass: { name: "Alert" },
    });

    const result = retargetJob(run, { workflowId: WRONG_WORKFLOW });

    expect(run.actionInstanceId).toBe("41440672-9265-5de0-b13c-cc19da30fc68");
    expect(result).toMatchObject({ ok: true, job: { actionInstanceId: "f2302bf1-26ce-566c-9177-222bd00ed2e5", workflowId: WRONG_WORKFLOW } });
  });

  it("rejects a job without identity", () => {
    expect(retargetJob(jobFor(1), { workflowId: RIGHT_WORKFLOW })).toEqual({ ok: false, reason: "no-identity" });
  });

  it("rejects a mismatched identity", () => {
    const tampered = misroutedJob({ identity: { scope: "prod-us", key: "3f2a9c1d7e6b5a40", episode: "2026-01-15T08:30:00.000Z" } });

    expect(retargetJob(tampered, { workflowId: RIGHT_WORKFLOW })).toEqual({ ok: false, reason: "identity-mismatch" });
  });
});

describe("job envelope identity", () => {
  it("round-trips the identity", () => {
    const decoded = decodeEnvelope(encodeEnvelope(newEnvelope(misroutedJob())));

    expect(decoded.job.identity).toEqual({ scope: "prod-eu", key: "3f2a9c1d7e6b5a40", episode: "2026-01-15T08:30:00.000Z" });
  });

  it("decodes an envelope without identity", () => {
    const body = JSON.stringify({
      kind: "secmaster-bridge.start-job",
      version: 1,
      job: {
        actionInstanceId: ID_FOR_WRONG,
        projectId: PROJECT_ID,
        workspaceId: WORKSPACE_ID,
        workflowId: WRONG_WORKFLOW,
        dataclass: { name: "Alert" },
        source: "alertmanager",
        alertKey: "3f2a9c1d7e6b5a40",
        content: { title: "Disk full" },
      },
      priorAttempts: 0,
    });

    const decoded = decodeEnvelope(body);

    expect(decoded.job.actionInstanceId).toBe(ID_FOR_WRONG);
    expect(decoded.job.identity).toBeUndefined();
  });
});
