import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalBridge, type LocalBridge, EMULATOR_DEFAULTS } from "../../lib/local/bridge";
import { startEmulator, type RunningEmulator } from "../../lib/local/emulator";
import { readFixture } from "../helpers/fixtures";
import { postAlerts } from "../helpers/local-bridge";

const WRONG_SECRET = "wrong-secret-key-do-not-log-0123456789";

describe("bridge with a wrong secret key", () => {
  function capture(write: typeof process.stdout.write): typeof process.stdout.write {
    return ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    });
  }

  let emulator: RunningEmulator;
  let bridge: LocalBridge;
  let dataDir: string;
  const logged: string[] = [];
  const originalStdout = process.stdout.write.bind(process.stdout);
  const originalStderr = process.stderr.write.bind(process.stderr);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-test-"));
    emulator = await startEmulator({
      port: 0,
      projectId: EMULATOR_DEFAULTS.projectId,
      credentials: [{ accessKey: "TESTACCESSKEY0000001", secretKey: "the-right-secret" }],
      workspaces: [
        {
          workspaceId: EMULATOR_DEFAULTS.workspaceId,
          workflows: [{ id: EMULATOR_DEFAULTS.workflowId, name: "triage", dataclassId: "dc1", dataclassName: "Alert" }],
        },
      ],
    });
    bridge = await startLocalBridge({
      port: 0,
      dataDir,
      inMemoryStore: true,
      env: {
        SECMASTER_ENDPOINT: emulator.url,
        SECMASTER_PROJECT_ID: EMULATOR_DEFAULTS.projectId,
        SECMASTER_WORKSPACE_ID: EMULATOR_DEFAULTS.workspaceId,
        SECMASTER_WORKFLOW_ID: EMULATOR_DEFAULTS.workflowId,
        SECMASTER_AK: "TESTACCESSKEY0000001",
        SECMASTER_SK: WRONG_SECRET,
        BRIDGE_MODE: "direct",
      },
    });
    process.stdout.write = capture(originalStdout);
    process.stderr.write = capture(originalStderr);
  });

  afterAll(async () => {
    process.stdout.write = originalStdout;
    process.stderr.write = originalStderr;
    await bridge.close();
    await emulator.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("dead-letters each alert once with APIG.0301 and never logs the key", async () => {
    const answer = await postAlerts(bridge.url, "alertmanager", readFixture("payloads/alertmanager-firing-group.json"));

    // A rejected signature is not retried, so each alert waits in the dead-letter queue for a redrive.
    expect(answer.status).toBe(202);
    expect(answer.contentType).toBe("application/json");
    expect(answer.json.results).toHaveLength(3);
    for (const result of answer.json.results) {
      expect(result.status).toBe("dead-lettered");
      expect(result.code).toBe("APIG.0301");
    }
    expect(await bridge.deadLetters!.approximateCount()).toBe(3);
    expect(emulator.stats().authFailures).toBe(3);
    expect(emulator.instances()).toHaveLength(0);
    expect(logged.join("")).toContain("APIG.0301");
    expect(logged.join("")).not.toContain(WRONG_SECRET);
  });
});
