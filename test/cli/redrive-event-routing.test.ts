import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { redriveCommand } from "../../lib/cli/queue";
import { openLocalQueues } from "../../lib/delivery/local-queue";
import { failedInvocationRecord } from "../../lib/delivery/redrive";
import { captureCliOutput } from "../helpers/cli-output";
import { readJsonFixture } from "../helpers/fixtures";
import { captureLogOutput } from "../helpers/log-capture";

const EVENTS_ARN = "arn:aws:lambda:ap-southeast-1:123456789012:function:secmaster-bridge-dev-events";

// The deployed events function always routes with a routing file or the SSM parameter. A redrive
// without one would start every firing alert on the default workflow under another id.
describe("redrive of failed AWS events without a routing file", () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-redrive-routing-"));
    const { deadLetters } = openLocalQueues(dataDir, 5);
    const event = readJsonFixture("payloads/guardduty-ssh-bruteforce.json");
    await deadLetters.send([{ id: "record", body: failedInvocationRecord(event, new Error("SQS returned 503"), EVENTS_ARN) }]);
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function redrive(args: string[], env: Record<string, string> = {}) {
    const output = captureCliOutput();
    const logs = captureLogOutput();
    const exitCode = await redriveCommand(["--data-dir", dataDir, ...args], output.io, env);
    logs.restore();
    return { exitCode, out: output.out() };
  }

  it("keeps the event and names the options", async () => {
    const { exitCode, out } = await redrive([]);

    expect(exitCode).toBe(1);
    expect(out).toContain("kept in the dead-letter queue, --routes: pass the routing file the stack deployed (or set BRIDGE_ROUTES_FILE), or --default-target");
    expect(await openLocalQueues(dataDir, 5).deadLetters.approximateCount()).toBe(1);
    expect(await openLocalQueues(dataDir, 5).queue.approximateCount()).toBe(0);
  });

  it("shows how to save routing kept in SSM", async () => {
    const { exitCode, out } = await redrive([], { BRIDGE_ROUTES_SSM_PARAMETER: "/secmaster-bridge/dev/routes" });

    expect(exitCode).toBe(1);
    expect(out).toContain("aws ssm get-parameter --name /secmaster-bridge/dev/routes --query Parameter.Value --output text > routes.yaml");
  });

  it("moves the event with --default-target", async () => {
    const { exitCode, out } = await redrive(["--default-target"]);

    expect(exitCode).toBe(0);
    expect(out).toContain("moved as 1 start job");
    expect(await openLocalQueues(dataDir, 5).queue.approximateCount()).toBe(1);
  });
});
