import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { build, type Metafile, type Plugin } from "esbuild";

// Shared with serverless.yml (custom.esbuild.plugins), so these bundles are the deployed ones.
const plugins = createRequire(import.meta.url)("../infra/esbuild-plugins.cjs") as Plugin[];

/** Lambda entry points, one bundle each. */
export const FUNCTIONS = ["ingest", "ingest-direct", "events", "dispatch", "schedule"] as const;

/**
 * Bundles each function alone into `dist/<name>/index.mjs` with the options `serverless.yml` uses,
 * and writes the esbuild metafile next to it so tests and benchmarks can inspect what went in.
 */
export async function buildFunctions(outDir = "dist"): Promise<void> {
  for (const name of FUNCTIONS) await bundleEntry(`functions/${name}.ts`, `${outDir}/${name}`);
}

/**
 * Bundles one entry point into `<dir>/index.mjs` with the options of the Lambda bundles, and writes
 * its esbuild metafile to `<dir>/meta.json`. Benchmarks bundle their comparison handlers with it.
 */
export async function bundleEntry(entryPoint: string, dir: string): Promise<Metafile> {
  const result = await build({
    entryPoints: [entryPoint],
    outfile: `${dir}/index.mjs`,
    bundle: true,
    minify: true,
    sourcemap: "linked",
    format: "esm",
    platform: "node",
    target: "node22",
    // ES modules first, so that esbuild keeps only the parts of a package the bundle uses.
    mainFields: ["module", "main"],
    // Fails the build of a function that imports the AWS SDK (lib/aws/client.ts replaces it), and
    // gives undici a stand-in for node:http2 that loads the real module on first use.
    plugins,
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    metafile: true,
    logLevel: "warning",
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/meta.json`, JSON.stringify(result.metafile));
  return result.metafile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildFunctions(process.argv[2] ?? "dist");
}
