import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngestHandler } from "../../functions/ingest";
import { redriveCommand } from "../../lib/cli/queue";
import { startLocalHttpServer, type LocalHttpServer } from "../../lib/local/http-server";
import { readFixture } from "../helpers/fixtures";
import { postAlerts } from "../helpers/local-bridge";
import { captureLogOutput, type LogCapture } from "../helpers/log-capture";
import { CREATED_LATER_WORKFLOW, MISSING_WORKFLOW_ID, startEmulatorWith, startMissingWorkflowSetup, textSink, TRIAGE_WORKFLOW, type MissingWorkflowSetup } from "./missing-workflow";

/** The members of a problem response that these tests read. */
interface ProblemBody {
  code: string;
  type: string;
  field: string;
  fix: string;
  results: { status: string; reason: string }[];
}

describe("direct mode with a missing workflow", () => {
  let setup: MissingWorkflowSetup;
  let firstResults: { action_instance_id: string; status: string; code: string; reason: string }[];

  beforeAll(async () => {
    setup = await startMissingWorkflowSetup();
  });
  afterAll(async () => {
    await setup.close();
  });

  it("dead-letters the rejected alerts and answers 202", async () => {
    const answer = await postAlerts(setup.bridge.url, "alertmanager", readFixture("payloads/alertmanager-firing-group.json"));

    expect(answer.status).toBe(202);
    expect(answer.contentType).toBe("application/json");
    firstResults = answer.json.results;
    expect(firstResults.map((result) => result.status)).toEqual(["dead-lettered", "dead-lettered", "dead-lettered"]);
    expect(firstResults.map((result) => result.code)).toEqual(["SecMaster.20030001", "SecMaster.20030001", "SecMaster.20030001"]);
    expect(firstResults[0]!.reason).toContain(`workflow ${MISSING_WORKFLOW_ID}`);
    expect(firstResults[0]!.reason).toContain("kept in the dead-letter queue for secmaster-bridge redrive");
    expect(await setup.bridge.deadLetters!.approximateCount()).toBe(3);
    expect(setup.emulator.instances()).toHaveLength(0);
  });

  it("starts each dead letter once after the workflow exists and a redrive", async () => {
    const port = setup.emulator.port;
    await setup.emulator.close();
    setup.emulator = await startEmulatorWith([TRIAGE_WORKFLOW, CREATED_LATER_WORKFLOW], port);
    const out = textSink();
    const err = textSink();

    const exitCode = await redriveCommand(["--data-dir", setup.dataDir], { out, err }, {});

    expect(exitCode).toBe(0);
    expect(out.text()).toContain("moved 3 dead-lettered jobs");
    await expect.poll(() => setup.emulator.instances().length, { timeout: 15_000 }).toBe(3);
    const started = setup.emulator.instances().map((instance) => instance.instance_id).sort();
    expect(started).toEqual(firstResults.map((result) => result.action_instance_id).sort());
    expect(await setup.bridge.deadLetters!.approximateCount()).toBe(0);

    const again = await postAlerts(setup.bridge.url, "alertmanager", readFixture("payloads/alertmanager-firing-group.json"));

    expect(again.status).toBe(200);
    expect(again.json.results.map((result: { status: string }) => result.status)).toEqual(["duplicate", "duplicate", "duplicate"]);
    expect(setup.emulator.stats().created).toBe(3);
    expect(setup.emulator.instances()).toHaveLength(3);
  });
});

describe("direct mode without a dead-letter queue", () => {
  let setup: MissingWorkflowSetup;
  let server: LocalHttpServer;
  let logs: LogCapture;

  beforeAll(async () => {
    setup = await startMissingWorkflowSetup();
    // The same runtime as on Lambda when BRIDGE_DLQ_URL is not set.
    const runtime = { ...setup.bridge.runtime, deadLetters: undefined };
    server = await startLocalHttpServer({ host: "127.0.0.1", port: 0, ingest: createIngestHandler(() => runtime), maxReadBytes: 1_000_000 });
    logs = captureLogOutput();
  });
  afterAll(async () => {
    logs.restore();
    await server.close();
    await setup.close();
  });

  it("answers 502 naming the workflow id to correct", async () => {
    const response = await fetch(`${server.url}/v1/alerts/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: readFixture("payloads/alertmanager-firing-group.json"),
    });
    const problem = (await response.json()) as ProblemBody;

    expect(response.status).toBe(502);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("retry-after")).toBeNull();
    expect(problem.code).toBe("BRIDGE.START_REJECTED");
    expect(problem.type).toBe("urn:secmaster-bridge:problem:start-rejected");
    expect(problem.field).toBe("workflow_id");
    expect(problem.fix).toContain(`check that workflow ${MISSING_WORKFLOW_ID} exists and is enabled`);
    expect(problem.fix).toContain("SECMASTER_WORKFLOW_ID");
    expect(problem.fix).toContain("set BRIDGE_DLQ_URL");
    expect(problem.results.map((result) => result.status)).toEqual(["failed", "failed", "failed"]);
    expect(problem.results[0]!.reason).toContain("no dead-letter queue is configured");
    expect(logs.text()).toContain('"message":"start rejected and not kept in a dead-letter queue');
    expect(await setup.bridge.deadLetters!.approximateCount()).toBe(0);
  });

  it("keeps 502 with Retry-After for a transient failure", async () => {
    setup.emulator.setFaults({ script: ["503", "503", "503", "503"] });
    const group = JSON.parse(readFixture("payloads/alertmanager-firing-group.json"));
    group.alerts = group.alerts.slice(0, 1);

    const response = await fetch(`${server.url}/v1/alerts/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(group),
    });
    const problem = (await response.json()) as ProblemBody;
    setup.emulator.setFaults({});

    expect(response.status).toBe(502);
    expect(response.headers.get("retry-after")).toBe("30");
    expect(problem.code).toBe("BRIDGE.START_FAILED");
    expect(problem.results.map((result) => result.status)).toEqual(["failed"]);
  });
});
