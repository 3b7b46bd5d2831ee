import { mkdtempSync, rmSync } from "node:fs";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleEntry, FUNCTIONS } from "../../scripts/build";

let outDir: string;
const bundles = new Map<string, Metafile>();

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-bundles-"));
  for (const name of FUNCTIONS) bundles.set(name, await bundleEntry(`functions/${name}.ts`, join(outDir, name)));
});

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

function bundle(name: (typeof FUNCTIONS)[number]): Metafile {
  return bundles.get(name)!;
}

/** Paths of the source files bundled into the output. */
function inputsOf(metafile: Metafile): string[] {
  return Object.values(metafile.outputs).flatMap((output) => Object.keys(output.inputs));
}

/** Modules the bundle imports at run time instead of containing them. */
function externalImportsOf(metafile: Metafile): string[] {
  return Object.values(metafile.outputs).flatMap((output) => output.imports.filter((entry) => entry.external).map((entry) => entry.path));
}

describe("every function bundle", () => {
  it.each(FUNCTIONS)("%s neither contains nor imports the AWS SDK", (name) => {
    const sdkFiles = inputsOf(bundle(name)).filter((path) => /node_modules\/@(aws-sdk|smithy|aws-crypto)\//.test(path));
    const sdkImports = externalImportsOf(bundle(name)).filter((path) => path.startsWith("@aws-sdk/") || path.startsWith("@smithy/"));

    expect([...sdkFiles, ...sdkImports]).toEqual([]);
  });

  it.each(FUNCTIONS)("%s imports nothing but Node's built-in modules at run time", (name) => {
    // undici probes for node:sqlite, which Node 22.5 and later have, before it ever uses it.
    expect(externalImportsOf(bundle(name)).filter((path) => !isBuiltin(path) && path !== "node:sqlite")).toEqual([]);
  });
});

describe("the build", () => {
  it("fails for a function that imports the AWS SDK, naming the file", async () => {
    const failure = await bundleEntry("test/fixtures/functions/imports-aws-sdk.ts", join(outDir, "guard")).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain("test/fixtures/functions/imports-aws-sdk.ts imports @aws-sdk/client-sqs; Lambda functions call AWS through lib/aws/client.ts");
  });
});

describe("queue-mode ingest bundle", () => {
  it("contains no undici", () => {
    expect(inputsOf(bundle("ingest")).filter((path) => path.includes("node_modules/undici/"))).toEqual([]);
  });

  it("contains no SecMaster client", () => {
    // The configuration still checks region ids against lib/secmaster/regions.ts.
    const clientFiles = ["lib/secmaster/client.ts", "lib/secmaster/transport.ts", "lib/secmaster/signer.ts"];

    expect(inputsOf(bundle("ingest")).filter((path) => clientFiles.includes(path))).toEqual([]);
  });

  it("contains no idempotency store", () => {
    const storeFiles = inputsOf(bundle("ingest")).filter((path) => path.includes("@aws-lambda-powertools/idempotency") || path === "lib/delivery/dynamodb-store.ts");

    expect(storeFiles).toEqual([]);
  });
});

describe("dispatch bundle", () => {
  it("contains undici, the SecMaster client and the AWS client", () => {
    const inputs = inputsOf(bundle("dispatch"));

    expect(inputs).toContain("node_modules/undici/lib/dispatcher/pool.js");
    expect(inputs).toContain("lib/secmaster/client.ts");
    expect(inputs).toContain("lib/aws/client.ts");
  });

  it("leaves out undici's fetch, WebSocket and cache stores", () => {
    const undiciWeb = inputsOf(bundle("dispatch")).filter((path) => /node_modules\/undici\/(index\.js|lib\/(web\/fetch\/index|web\/websocket\/|web\/eventsource\/|cache\/|mock\/))/.test(path));

    expect(undiciWeb).toEqual([]);
  });

  it("carries none of the ingest parts", () => {
    const ingestParts = ["lib/sources/index.ts", "lib/routing/compile.ts", "lib/auth/inbound.ts", "lib/ingest.ts"];

    expect(inputsOf(bundle("dispatch")).filter((path) => ingestParts.includes(path) || path.includes("node_modules/yaml/"))).toEqual([]);
  });
});
