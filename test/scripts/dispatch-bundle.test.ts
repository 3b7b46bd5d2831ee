import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleEntry } from "../../scripts/build";
import { localLambdaContext, toSqsRecord } from "../../lib/delivery/poller";
import { encodeEnvelope, newEnvelope } from "../../lib/delivery/queue";
import { ensureIdempotencyTable, startDynalite, type LocalDynamoDB } from "../../lib/local/dynamodb";
import { startEmulator, type RunningEmulator } from "../../lib/local/emulator";
import { dispatchSettings, jobFor, PROJECT_ID, WORKFLOW_ID, WORKSPACE_ID } from "../delivery/harness";
import { startAwsStandin, type AwsStandin } from "../helpers/aws-standin";

const run = promisify(execFile);
const CREDENTIALS = { accessKey: "DISPATCHBUNDLEKEY001", secretKey: "dispatch-bundle-test-secret" };
const TABLE = "dispatch-bundle-test-idempotency";

// Invokes the bundle's handler once with the SQS event of argv[2] and prints its response.
const INVOKE = `
const { handler } = await import(process.argv[1]);
const event = JSON.parse(process.argv[2]);
const context = { ...JSON.parse(process.argv[3]), getRemainingTimeInMillis: () => 30000 };
process.stdout.write(JSON.stringify(await handler(event, context)));
`;

let outDir: string;
let metafile: Metafile;
let emulator: RunningEmulator;
let dynamodb: LocalDynamoDB;
let standin: AwsStandin;

beforeAll(async () => {
  // Under the repository, as a Lambda package is a folder of its own.
  mkdirSync(join(process.cwd(), "dist"), { recursive: true });
  outDir = mkdtempSync(join(process.cwd(), "dist", "test-dispatch-bundle-"));
  metafile = await bundleEntry("functions/dispatch.ts", outDir);
  emulator = await startEmulator({
    port: 0,
    projectId: PROJECT_ID,
    credentials: [CREDENTIALS],
    workspaces: [{ workspaceId: WORKSPACE_ID, workflows: [{ id: WORKFLOW_ID, name: "triage", dataclassId: "dc-1", dataclassName: "Alert" }] }],
  });
  dynamodb = await startDynalite();
  await ensureIdempotencyTable(dynamodb.endpoint, TABLE);
  standin = await startAwsStandin();
}, 60_000);

afterAll(async () => {
  rmSync(outDir, { recursive: true, force: true });
  await emulator.close();
  await dynamodb.close();
  await standin.close();
});

/** Runs the bundle's handler in a fresh process with `env` on one SQS record of `job`. */
async function invokeBundle(job: ReturnType<typeof jobFor>, env: Record<string, string>): Promise<unknown> {
  const record = toSqsRecord(
    { messageId: "m-1", receiptHandle: "r-1", body: encodeEnvelope(newEnvelope(job)), receiveCount: 1, sentAtMs: Date.now() },
    "arn:aws:sqs:local:000000000000:jobs",
  );
  // Functions do not cross the process boundary; the child adds getRemainingTimeInMillis.
  const context = JSON.parse(JSON.stringify(localLambdaContext(30_000, "bundle"))) as Record<string, unknown>;
  const args = ["--input-type=module", "-e", INVOKE, pathToFileURL(join(outDir, "index.mjs")).href, JSON.stringify({ Records: [record] }), JSON.stringify(context)];
  const { stdout } = await run(process.execPath, args, { env, cwd: outDir });
  return JSON.parse(stdout) as unknown;
}

function bundleEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    LOG_LEVEL: "SILENT",
    POWERTOOLS_METRICS_DISABLED: "true",
    ...dispatchSettings({ emulatorUrl: emulator.url, credentials: CREDENTIALS, dynamodbEndpoint: dynamodb.endpoint, table: TABLE }),
  };
}

describe("dispatch bundle as deployed", () => {
  it("leaves node:http2 unloaded at import", async () => {
    // undici loads it for HTTP/2 connections only, which SecMaster pools never open.
    const script = "await import(process.argv[1]); process.stdout.write(JSON.stringify(process.moduleLoadList.filter((name) => / (http2|https)$/.test(name))));";
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script, pathToFileURL(join(outDir, "index.mjs")).href], { env: bundleEnv(), cwd: outDir });

    // https is the AWS client's transport: its presence shows that the list was read after the import.
    expect(JSON.parse(stdout)).toEqual(["NativeModule https"]);
  }, 60_000);

  it("leaves JMESPath out", () => {
    const inputs = Object.keys(metafile.inputs);

    expect(inputs.filter((input) => input.includes("@aws-lambda-powertools/jmespath"))).toEqual([]);
    expect(inputs).toContain("infra/shims/no-jmespath.cjs");
    // The idempotency utility is in the bundle, and starts below go through it.
    expect(inputs.some((input) => input.includes("@aws-lambda-powertools/idempotency"))).toBe(true);
  });

  it("starts a queued job once", async () => {
    const env = bundleEnv();

    const first = await invokeBundle(jobFor(1), env);
    const again = await invokeBundle(jobFor(1), env);

    expect(first).toEqual({ batchItemFailures: [] });
    expect(again).toEqual({ batchItemFailures: [] });
    expect(emulator.instances().map((instance) => instance.instance_id)).toEqual([jobFor(1).actionInstanceId]);
  }, 60_000);

  it("fetches the SecMaster keys from SSM and no sender secret", async () => {
    standin.handle("AmazonSSM.GetParameters", (input) => ({
      Parameters: (input.Names as string[]).map((name) => ({ Name: name, Type: "SecureString", Value: name.endsWith("/ak") ? CREDENTIALS.accessKey : CREDENTIALS.secretKey })),
      InvalidParameters: [],
    }));
    const env = {
      ...bundleEnv(),
      ...standin.env(),
      BRIDGE_DYNAMODB_ENDPOINT: dynamodb.endpoint,
      SECMASTER_AK: "ssm:/secmaster-bridge/test/secmaster/ak",
      SECMASTER_SK: "ssm:/secmaster-bridge/test/secmaster/sk",
      BRIDGE_AUTH_ALERTMANAGER: "bearer",
      BRIDGE_AUTH_ALERTMANAGER_SECRETS: "ssm:/secmaster-bridge/test/auth/alertmanager",
    };

    const result = await invokeBundle(jobFor(2), env);

    expect(result).toEqual({ batchItemFailures: [] });
    expect(emulator.instances().map((instance) => instance.instance_id)).toContain(jobFor(2).actionInstanceId);
    expect(standin.calls.map((call) => [call.target, call.input])).toEqual([
      ["AmazonSSM.GetParameters", { Names: ["/secmaster-bridge/test/secmaster/ak", "/secmaster-bridge/test/secmaster/sk"], WithDecryption: true }],
    ]);
    expect(standin.refused).toEqual([]);
  }, 60_000);
});
