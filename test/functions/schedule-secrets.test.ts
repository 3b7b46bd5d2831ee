import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ensureIdempotencyTable, startDynalite, type LocalDynamoDB } from "../../lib/local/dynamodb";
import type { RunningEmulator } from "../../lib/local/emulator";
import { startAwsStandin, type AwsStandin } from "../helpers/aws-standin";
import { ROUTING_IDS, startRoutingEmulator } from "../helpers/routing-emulator";

const CONTEXT = { awsRequestId: "schedule-secrets-test", functionName: "schedule", getRemainingTimeInMillis: () => 60_000 } as Context;

describe("schedule function on Lambda", () => {
  let standin: AwsStandin;
  let emulator: RunningEmulator;
  let dynamodb: LocalDynamoDB;

  beforeAll(async () => {
    const started = await startRoutingEmulator();
    emulator = started.emulator;
    dynamodb = await startDynalite();
    await ensureIdempotencyTable(dynamodb.endpoint, "schedule-secrets-test");
    standin = await startAwsStandin({ region: "ap-southeast-1" });
    const env: Record<string, string> = {
      ...started.env,
      ...standin.env(),
      SECMASTER_AK: "ssm:/secmaster-bridge/test/secmaster/ak",
      SECMASTER_SK: "ssm:/secmaster-bridge/test/secmaster/sk",
      BRIDGE_SCHEDULES_FILE: "test/fixtures/schedule/schedules.yaml",
      BRIDGE_IDEMPOTENCY_TABLE: "schedule-secrets-test",
      BRIDGE_DYNAMODB_ENDPOINT: dynamodb.endpoint,
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    standin.handle("AmazonSSM.GetParameters", () => ({
      Parameters: [
        { Name: "/secmaster-bridge/test/secmaster/ak", Type: "SecureString", Value: ROUTING_IDS.accessKey },
        { Name: "/secmaster-bridge/test/secmaster/sk", Type: "SecureString", Value: ROUTING_IDS.secretKey },
      ],
      InvalidParameters: [],
    }));
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await standin.close();
    await dynamodb.close();
    await emulator.close();
  });

  it("signs with the SecMaster key pair fetched from SSM", async () => {
    const { handler } = await import("../../functions/schedule");

    const result = await handler({ schedule: "nightly-posture", time: "2026-01-15T18:00:00Z", event_id: "e-1" }, CONTEXT);

    expect(result.status).toBe("created");
    expect(result.action_instance_id).toBe("41440672-9265-5de0-b13c-cc19da30fc68");
    expect(emulator.stats().authFailures).toBe(0);
    expect(emulator.instances()).toHaveLength(1);
    expect(standin.calls.map((call) => [call.target, call.input])).toEqual([
      ["AmazonSSM.GetParameters", { Names: ["/secmaster-bridge/test/secmaster/ak", "/secmaster-bridge/test/secmaster/sk"], WithDecryption: true }],
    ]);
    expect(standin.refused).toEqual([]);
  });
});
