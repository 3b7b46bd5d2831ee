import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleEntry } from "../../scripts/build";

let outDir: string;
let ingest: Metafile;
let dispatch: Metafile;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-bundles-"));
  ingest = await bundleEntry("functions/ingest.ts", join(outDir, "ingest"));
  dispatch = await bundleEntry("functions/dispatch.ts", join(outDir, "dispatch"));
});

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

/** Paths of the source files bundled into the output. */
function inputsOf(metafile: Metafile): string[] {
  return Object.values(metafile.outputs).flatMap((output) => Object.keys(output.inputs));
}

/** Packages the bundle imports at run time instead of containing them (`@aws-sdk/*`). */
function externalImportsOf(metafile: Metafile): string[] {
  return Object.values(metafile.outputs).flatMap((output) => output.imports.filter((entry) => entry.external).map((entry) => entry.path));
}

describe("queue-mode ingest bundle", () => {
  it("contains no undici", () => {
    expect(inputsOf(ingest).filter((path) => path.includes("node_modules/undici/"))).toEqual([]);
  });

  it("contains no SecMaster client", () => {
    // The configuration still checks region ids against lib/secmaster/regions.ts.
    const clientFiles = ["lib/secmaster/client.ts", "lib/secmaster/transport.ts", "lib/secmaster/signer.ts"];

    expect(inputsOf(ingest).filter((path) => clientFiles.includes(path))).toEqual([]);
  });

  it("contains no idempotency store", () => {
    expect(inputsOf(ingest).filter((path) => path.includes("@aws-lambda-powertools/idempotency"))).toEqual([]);
  });

  it("imports no DynamoDB client", () => {
    expect(externalImportsOf(ingest).filter((path) => path.includes("dynamodb"))).toEqual([]);
  });

  it("imports only the SQS, SSM and Secrets Manager clients of the AWS SDK", () => {
    // SQS takes the jobs; SSM and Secrets Manager hold sender secrets and routing rules.
    const allowed = ["@aws-sdk/client-secrets-manager", "@aws-sdk/client-sqs", "@aws-sdk/client-ssm"];

    expect(externalImportsOf(ingest).filter((path) => path.startsWith("@aws-sdk/") && !allowed.includes(path))).toEqual([]);
    expect(inputsOf(ingest).filter((path) => path.includes("node_modules/@aws-sdk/"))).toEqual([]);
  });
});

describe("dispatch bundle", () => {
  it("contains undici and the SecMaster client", () => {
    expect(inputsOf(dispatch).some((path) => path.includes("node_modules/undici/"))).toBe(true);
    expect(inputsOf(dispatch)).toContain("lib/secmaster/client.ts");
  });

  it("leaves out undici's fetch, WebSocket and cache stores", () => {
    const undiciWeb = inputsOf(dispatch).filter((path) => /node_modules\/undici\/(index\.js|lib\/(web\/fetch\/index|web\/websocket\/|web\/eventsource\/|cache\/|mock\/))/.test(path));

    expect(undiciWeb).toEqual([]);
  });

  it("bundles its AWS SDK clients", () => {
    expect(externalImportsOf(dispatch).filter((path) => path.startsWith("@aws-sdk/"))).toEqual([]);
    expect(inputsOf(dispatch).some((path) => path.includes("node_modules/@aws-sdk/client-dynamodb/"))).toBe(true);
  });

  it("keeps only the SSM commands it sends", () => {
    const ssmCommands = inputsOf(dispatch).filter((path) => /node_modules\/@aws-sdk\/client-ssm\/.*\/commands\/\w+Command\.js$/.test(path));

    expect(ssmCommands.map((path) => path.slice(path.lastIndexOf("/") + 1)).sort()).toEqual(["GetParametersByPathCommand.js", "GetParametersCommand.js"]);
  });

  it("carries none of the ingest parts", () => {
    const ingestParts = ["lib/sources/index.ts", "lib/routing/compile.ts", "lib/auth/inbound.ts", "lib/ingest.ts"];

    expect(inputsOf(dispatch).filter((path) => ingestParts.includes(path) || path.includes("node_modules/yaml/"))).toEqual([]);
  });
});
