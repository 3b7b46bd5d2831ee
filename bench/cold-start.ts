import { execFileSync } from "node:child_process";
import { rmSync, statSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Metafile } from "esbuild";
import { bundleEntry, FUNCTIONS } from "../scripts/build";
import type { FigureReport, Table, TargetCheck } from "./report";
import { formatNumber, formatSpread, spreadOf, type Spread } from "./stats";

const REPOSITORY_ROOT = fileURLToPath(new URL("..", import.meta.url));

// Under the repository, as the other build outputs.
const OUT_DIR = "dist/bench-cold-start";

/** Maximum minified size of the ingest bundle, in bytes. */
const MAX_INGEST_BYTES = 150 * 1024;
/** Maximum cold import time of the ingest bundle above the empty handler's, in milliseconds. */
const MAX_INGEST_OVER_EMPTY_MS = 40;
/** Maximum ratio of the dispatch bundle's import time to the SDK dispatch bundle's. */
const MAX_DISPATCH_TO_SDK = 0.5;

// Imports one bundle in a fresh process and prints the milliseconds the import took. The clock
// starts after Node itself has started, so the figure is the bundle's own load and top-level code.
const IMPORT_ONCE = "const started = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - started));";

interface BundleResult {
  name: string;
  entry: string;
  bytes: number;
  importMs: Spread;
  /** Wall time of the whole `node` process, start-up included. */
  processMs: Spread;
}

/** The bundles of the figure: every function, an empty handler, and dispatch on the official SDK. */
function bundleList(): { name: string; entry: string }[] {
  return [
    ...FUNCTIONS.map((name) => ({ name, entry: `functions/${name}.ts` })),
    { name: "empty handler", entry: "bench/entries/empty.ts" },
    { name: "dispatch on the official SDK", entry: "bench/entries/sdk-dispatch.ts" },
    // Parts alone, to tell where the import time of the bundles goes.
    { name: "part: undici Pool", entry: "bench/entries/part-undici.ts" },
    { name: "part: AWS client and idempotency store", entry: "bench/entries/part-aws-client.ts" },
    { name: "part: official SDK core", entry: "bench/entries/part-sdk-core.ts" },
    { name: "part: source adapters with zod", entry: "bench/entries/part-sources.ts" },
    { name: "part: yaml", entry: "bench/entries/part-yaml.ts" },
    { name: "part: zod, Powertools Logger and Metrics, Middy", entry: "bench/entries/part-stack.ts" },
  ];
}

/** Imports a bundle file, or a package by name, in a fresh process. */
function importOnce(target: string): { importMs: number; processMs: number } {
  const specifier = target.startsWith("/") ? pathToFileURL(target).href : target;
  const startedMs = performance.now();
  const output = execFileSync(process.execPath, ["--input-type=module", "-e", IMPORT_ONCE, specifier], {
    cwd: REPOSITORY_ROOT,
    // A plain environment: no tsx loader, no source maps, logging off, as a bare runtime imports it.
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "SILENT", POWERTOOLS_METRICS_DISABLED: "true" },
    stdio: ["ignore", "pipe", "ignore"],
    encoding: "utf8",
  });
  return { importMs: Number(output), processMs: performance.now() - startedMs };
}

/** Groups the bytes of a bundle by npm package, or by folder for our own code, largest first. */
export function bytesByPart(metafile: Metafile): [string, number][] {
  const parts = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [file, input] of Object.entries(output.inputs)) {
      const part = partOf(file);
      parts.set(part, (parts.get(part) ?? 0) + input.bytesInOutput);
    }
  }
  return [...parts].sort((a, b) => b[1] - a[1]);
}

function partOf(file: string): string {
  const inModules = file.lastIndexOf("node_modules/");
  if (inModules < 0) return file.split("/").slice(0, 2).join("/");
  const segments = file.slice(inModules + "node_modules/".length).split("/");
  return segments[0]!.startsWith("@") ? `${segments[0]}/${segments[1]}` : segments[0]!;
}

/** Bytes of one part of a bundle, as {@link bytesByPart} names it. */
function partBytes(metafile: Metafile, part: string): number {
  return bytesByPart(metafile).find(([name]) => name === part)?.[1] ?? 0;
}

function largestParts(metafile: Metafile, count: number): string {
  return bytesByPart(metafile)
    .slice(0, count)
    .map(([part, bytes]) => `${part} ${formatNumber(bytes / 1024, 0)} KiB`)
    .join(", ");
}

/**
 * Measures figure 5: minified size and cold import time of each function bundle, built with the options of
 * `scripts/build.ts`, against an empty handler and a dispatch handler on the official SDK core.
 */
export async function runColdStartFigure(options: { processes: number }): Promise<FigureReport> {
  rmSync(`${REPOSITORY_ROOT}${OUT_DIR}`, { recursive: true, force: true });
  const bundles = bundleList().map((bundle, index) => ({ ...bundle, dir: `${OUT_DIR}/${index}-${bundle.name.replaceAll(" ", "-")}` }));

  const metafiles: Metafile[] = [];
  for (const bundle of bundles) metafiles.push(await bundleEntry(bundle.entry, bundle.dir));

  const samples = bundles.map(() => ({ importMs: [] as number[], processMs: [] as number[] }));
  for (let round = 0; round < options.processes; round++) {
    // Rotating the order keeps one bundle from always following the same one.
    for (let step = 0; step < bundles.length; step++) {
      const index = (round + step) % bundles.length;
      const sample = importOnce(`${REPOSITORY_ROOT}${bundles[index]!.dir}/index.mjs`);
      samples[index]!.importMs.push(sample.importMs);
      samples[index]!.processMs.push(sample.processMs);
    }
  }

  const results: BundleResult[] = bundles.map((bundle, index) => ({
    name: bundle.name,
    entry: bundle.entry,
    bytes: statSync(`${REPOSITORY_ROOT}${bundle.dir}/index.mjs`).size,
    importMs: spreadOf(samples[index]!.importMs),
    processMs: spreadOf(samples[index]!.processMs),
  }));
  const byName = (name: string) => results.find((result) => result.name === name)!;
  const ingest = byName("ingest");
  const dispatch = byName("dispatch");
  const empty = byName("empty handler");
  const sdk = byName("dispatch on the official SDK");
  const undiciPart = byName("part: undici Pool");
  const awsPart = byName("part: AWS client and idempotency store");
  const sdkCorePart = byName("part: official SDK core");
  const sourcesPart = byName("part: source adapters with zod");
  const yamlPart = byName("part: yaml");
  const stackPart = byName("part: zod, Powertools Logger and Metrics, Middy");
  const overEmpty = (result: BundleResult) => formatNumber(result.importMs.median - empty.importMs.median, 1);

  const table: Table = {
    headers: ["bundle", "entry", "minified KiB", "import ms", "whole process ms"],
    rows: results.map((result) => [
      result.name,
      `\`${result.entry}\``,
      formatNumber(result.bytes / 1024, 1),
      formatSpread(result.importMs, 1),
      formatSpread(result.processMs, 1),
    ]),
  };

  const metafileOf = (result: BundleResult) => metafiles[results.indexOf(result)]!;

  const overEmptyMs = ingest.importMs.median - empty.importMs.median;
  const dispatchRatio = dispatch.importMs.median / sdk.importMs.median;
  const targets: TargetCheck[] = [
    {
      subject: "ingest bundle, minified",
      target: `≤ ${formatNumber(MAX_INGEST_BYTES / 1024)} KiB`,
      measured: `${formatNumber(ingest.bytes / 1024, 1)} KiB`,
      met: ingest.bytes <= MAX_INGEST_BYTES,
      missReason:
        `The largest parts: ${largestParts(metafileOf(ingest), 6)}. ` +
        "zod, which checks the settings and every delivery, and the source adapters, one of which parses each " +
        "delivery, are together most of the target; the yaml parser is never run at import, and ships for " +
        "YAML routing text read from SSM at run time. " +
        `The packages every function carries, zod's classic API (\`import * as z from "zod"\`, whose methods ` +
        "esbuild cannot drop) with the Powertools Logger and Metrics under Middy, bundle alone to " +
        `${formatNumber(stackPart.bytes / 1024, 1)} KiB, which leaves ` +
        `${formatNumber((MAX_INGEST_BYTES - stackPart.bytes) / 1024, 1)} KiB of the target for the bridge's own ` +
        `code, and its source adapters alone take ${formatNumber(partBytes(metafileOf(ingest), "lib/sources") / 1024, 0)} KiB. ` +
        "Meeting the target would need the ingest path's schemas in `zod/mini`, which the project's rule to " +
        "import zod's classic API excludes, and the adapters split out of the bundle.",
    },
    {
      subject: "ingest cold import, above the empty handler",
      target: `≤ ${MAX_INGEST_OVER_EMPTY_MS} ms`,
      measured: `${formatNumber(overEmptyMs, 1)} ms`,
      met: overEmptyMs <= MAX_INGEST_OVER_EMPTY_MS,
      missReason:
        "The bundle imports nothing outside itself but Node's built-in modules; the time is loading and running " +
        `its own code. Imported alone, above the empty handler (medians): the source adapters with zod ${overEmpty(sourcesPart)} ms, ` +
        `of which most is building the adapters' zod schemas, and yaml ${overEmpty(yamlPart)} ms.`,
    },
    {
      subject: "dispatch cold import / dispatch on the official SDK",
      target: `≤ ${MAX_DISPATCH_TO_SDK}×`,
      measured: `${formatNumber(dispatchRatio, 2)}×`,
      met: dispatchRatio <= MAX_DISPATCH_TO_SDK,
      missReason:
        "Both bundles carry the same Middy handler, dispatch loop, Powertools idempotency, Alert schema and " +
        "DynamoDB store. Beyond the SecMaster client, dispatch also carries the settings check, the secret " +
        "loading and the metrics that the SDK variant leaves out. Imported alone, above the empty handler " +
        `(medians): undici's Pool ${overEmpty(undiciPart)} ms, the official SDK core ${overEmpty(sdkCorePart)} ms, ` +
        `the AWS client and store ${overEmpty(awsPart)} ms. undici's Pool alone is ` +
        `${formatNumber((100 * (undiciPart.importMs.median - empty.importMs.median)) / (dispatch.importMs.median - empty.importMs.median), 0)}% ` +
        "of dispatch's time above the empty handler, so the target needs a SecMaster transport lighter than undici, " +
        "which dispatch is asked to use. " +
        `Dispatch's largest bundled parts: ${largestParts(metafileOf(dispatch), 5)}.`,
    },
  ];

  return {
    id: 5,
    title: "Cold start: bundle size and import time",
    method: [
      "Every function of `scripts/build.ts` is bundled with its `bundleEntry`, the options `serverless.yml` " +
        "deploys with: esbuild, minified ESM for Node 22, ES module builds of packages first. No function " +
        "contains or imports the AWS SDK: they call AWS with `lib/aws/client.ts`, and `infra/esbuild-plugins.cjs` " +
        "fails the build of one that imports it. The same plugins give undici a stand-in for `node:http2` " +
        "(`infra/shims/lazy-http2.cjs`): the real module loads only for an HTTP/2 connection, and the bridge " +
        "opens none. They also give the Powertools idempotency utility a stand-in for its JMESPath package " +
        "(`infra/shims/no-jmespath.cjs`), because the bridge keys idempotency on a function argument and sets " +
        "no JMESPath expression. Next to them are " +
        "bundles built the same way for comparison: `bench/entries/empty.ts`, a handler that imports " +
        "nothing; `bench/entries/sdk-dispatch.ts`, the dispatch function with `HcClient` of the official " +
        "SDK core in place of our SecMaster client (same Middy handler, dispatch loop, Powertools " +
        "idempotency and DynamoDB store, without our metrics, SQS backoff and secret loading); and parts " +
        "alone (`bench/entries/part-*.ts`): undici's Pool, our AWS client with the idempotency store, the " +
        "official SDK core, the source adapters with zod, yaml, and the packages that every function carries " +
        "(zod's classic API, the Powertools Logger and Metrics, Middy).",
      `Each bundle is imported by ${options.processes} fresh \`node\` processes, the bundles taking turns. ` +
        "\"import ms\" is measured inside the process from just before `await import(bundle)` to just after " +
        "it, so it is the bundle's load and top-level code. \"whole process ms\" is the wall time of the process, Node's start-up " +
        "included. Sizes are of `index.mjs`, without the source map.",
    ],
    tables: [table],
    targets,
    reproduce: [
      "npm run bench -- --only 5",
      "# one bundle by hand, after the benchmark built it:",
      `node --input-type=module -e '${IMPORT_ONCE}' "$PWD/${OUT_DIR}/0-ingest/index.mjs"`,
    ],
  };
}
