import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleEntry } from "../../scripts/build";
import { startAwsStandin, type AwsStandin } from "../helpers/aws-standin";
import { serveSqs } from "../helpers/sqs-standin";
import { readFixture } from "../helpers/fixtures";

const run = promisify(execFile);

/** Functions that route alerts or run schedules, and so bundle the YAML module for SSM text. */
const ROUTING_FUNCTIONS = ["ingest", "ingest-direct", "events", "schedule"] as const;

// Imports the ingest bundle in a fresh process, builds its runtime, reads its routing table and
// prints a report. The yaml package calls Symbol.for("yaml.…") when its modules run, so wrapping
// Symbol.for shows whether, and when, they ran.
const PROBE = `
const requested = new Set();
const symbolFor = Symbol.for;
Symbol.for = (key) => { requested.add(String(key)); return symbolFor(key); };
const yamlRan = () => [...requested].some((key) => key.startsWith("yaml."));
const bundle = await import(process.argv[1]);
const report = { yamlRanAtImport: yamlRan() };
try {
  const table = await bundle.getIngestRuntime().routing.table();
  report.rules = table.rules.map((rule) => rule.name);
} catch (error) {
  report.error = { code: error.code, issues: error.issues };
}
report.yamlRanAfterRouting = yamlRan();
process.stdout.write(JSON.stringify(report));
`;

// Imports the ingest bundle in a fresh process and posts the Alertmanager webhook of argv[2] to
// its handler, as API Gateway would, then reports the status and whether yaml ran.
const INVOKE = `
const requested = new Set();
const symbolFor = Symbol.for;
Symbol.for = (key) => { requested.add(String(key)); return symbolFor(key); };
const yamlRan = () => [...requested].some((key) => key.startsWith("yaml."));
const bundle = await import(process.argv[1]);
const yamlRanAtImport = yamlRan();
const path = "/v1/alerts/alertmanager";
const event = {
  version: "2.0", routeKey: "POST /v1/alerts/{source}", rawPath: path, rawQueryString: "",
  headers: { "content-type": "application/json" }, pathParameters: { source: "alertmanager" }, body: process.argv[2], isBase64Encoded: false,
  requestContext: { accountId: "000000000000", apiId: "test", domainName: "test", domainPrefix: "test", requestId: "r1", routeKey: "POST /v1/alerts/{source}", stage: "$default", time: "05/Jan/2026:10:00:00 +0000", timeEpoch: 1767607200000,
    http: { method: "POST", path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" } },
};
const context = { functionName: "ingest", awsRequestId: "r1", getRemainingTimeInMillis: () => 30000 };
const response = await bundle.handler(event, context);
process.stdout.write(JSON.stringify({ yamlRanAtImport, yamlRanAfterInvoke: yamlRan(), statusCode: response.statusCode, body: JSON.parse(response.body) }));
`;

interface ProbeReport {
  yamlRanAtImport: boolean;
  yamlRanAfterRouting: boolean;
  rules?: string[];
  error?: { code: string; issues: string[] };
}

let outDir: string;
let standin: AwsStandin;
const bundles = new Map<string, Metafile>();

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-yaml-bundle-"));
  for (const name of ROUTING_FUNCTIONS) bundles.set(name, await bundleEntry(`functions/${name}.ts`, join(outDir, name)));
  standin = await startAwsStandin();
}, 120_000);

afterAll(async () => {
  rmSync(outDir, { recursive: true, force: true });
  await standin.close();
});

/**
 * Returns the inputs of a bundle that run when it is imported: those reached from the entry point
 * through static imports and require calls, not through `import()`.
 */
function inputsRunAtImport(metafile: Metafile, entryPoint: string): Set<string> {
  const reached = new Set<string>([entryPoint]);
  const pending = [entryPoint];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    for (const edge of metafile.inputs[path]?.imports ?? []) {
      if (edge.external || edge.kind === "dynamic-import" || reached.has(edge.path)) continue;
      reached.add(edge.path);
      pending.push(edge.path);
    }
  }
  return reached;
}

/** Runs the probe on the ingest bundle with the environment of a queue-mode function plus `env`. */
/** Returns the environment of a queue-mode ingest bundle, with `env` on top. */
function ingestEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    LOG_LEVEL: "SILENT",
    POWERTOOLS_METRICS_DISABLED: "true",
    SECMASTER_REGION: "cn-north-4",
    // Made-up keys: ingest in queue mode never calls SecMaster.
    SECMASTER_AK: "YAMLBUNDLETESTKEY001",
    SECMASTER_SK: "yaml-bundle-test-secret",
    SECMASTER_PROJECT_ID: "0000000000000000000000000000e001",
    SECMASTER_WORKSPACE_ID: "11111111-2222-4333-8444-555555555555",
    SECMASTER_WORKFLOW_ID: "00000000-0000-4000-8000-00000000f001",
    BRIDGE_MODE: "queue",
    ...env,
  };
}

async function probeIngest(env: Record<string, string>): Promise<ProbeReport> {
  const bundle = pathToFileURL(join(outDir, "ingest", "index.mjs")).href;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", PROBE, bundle], {
    // The repository, so that the fixture paths resolve as the packaged paths do under /var/task.
    cwd: process.cwd(),
    // Never contacted: the probe reads the routing table and sends no job.
    env: ingestEnv({ BRIDGE_QUEUE_URL: "http://127.0.0.1:9/000000000000/jobs", AWS_REGION: "local", ...env }),
  });
  return JSON.parse(stdout) as ProbeReport;
}

describe("function bundles and the yaml package", () => {
  it.each(ROUTING_FUNCTIONS)("%s runs no yaml module at import", (name) => {
    const metafile = bundles.get(name)!;
    const atImport = [...inputsRunAtImport(metafile, `functions/${name}.ts`)];

    expect(atImport.filter((path) => path.includes("node_modules/yaml/") || path === "lib/routing/yaml.ts")).toEqual([]);
    // The YAML module is still bundled, for routing rules from SSM.
    expect(Object.keys(metafile.inputs)).toContain("lib/routing/yaml.ts");
    expect(Object.keys(metafile.inputs).some((path) => path.includes("node_modules/yaml/"))).toBe(true);
  });
});

describe("queue-mode ingest bundle in a fresh process", () => {
  it("reads a JSON routing file without running yaml", async () => {
    const report = await probeIngest({ BRIDGE_ROUTES_FILE: "test/fixtures/routing/routes.json" });

    expect(report.error).toBeUndefined();
    expect(report.rules).toEqual(["guardduty-high"]);
    expect(report.yamlRanAtImport).toBe(false);
    expect(report.yamlRanAfterRouting).toBe(false);
  }, 60_000);

  it("loads yaml for a hand-set YAML file", async () => {
    const queueUrl = `${standin.url}/000000000000/yaml-bundle-jobs`;
    const sqs = serveSqs(standin, { queues: [queueUrl] });
    const bundle = pathToFileURL(join(outDir, "ingest", "index.mjs")).href;
    const env = ingestEnv({ ...standin.env(), BRIDGE_QUEUE_URL: queueUrl, BRIDGE_ROUTES_FILE: "test/fixtures/routing/routes.yaml" });

    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", INVOKE, bundle, readFixture("payloads/alertmanager-firing-group.json")], { cwd: process.cwd(), env });
    const report = JSON.parse(stdout) as { yamlRanAtImport: boolean; yamlRanAfterInvoke: boolean; statusCode: number; body: { status?: string } };

    expect(report.statusCode).toBe(202);
    expect(report.yamlRanAtImport).toBe(false);
    expect(report.yamlRanAfterInvoke).toBe(true);
    expect(sqs.inputs("SendMessageBatch").length).toBeGreaterThan(0);
    expect(standin.refused).toEqual([]);
  }, 60_000);

  it("runs yaml only to read YAML rules from SSM", async () => {
    standin.handle("AmazonSSM.GetParameter", () => ({ Parameter: { Value: readFixture("routing/routes.yaml") } }));

    const report = await probeIngest({ ...standin.env(), BRIDGE_ROUTES_SSM_PARAMETER: "/secmaster-bridge/test/routes" });

    expect(report.error).toBeUndefined();
    expect(report.rules).toEqual(["drop-watchdog", "secops-critical", "edge-clusters", "close-resolved"]);
    expect(report.yamlRanAtImport).toBe(false);
    expect(report.yamlRanAfterRouting).toBe(true);
    expect(standin.refused).toEqual([]);
  }, 60_000);
});
