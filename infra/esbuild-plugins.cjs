// esbuild plugins of the Lambda bundles, used by serverless-esbuild (`custom.esbuild.plugins` in
// serverless.yml) and by scripts/build.ts, so that the deployed bundles and the measured ones match.
"use strict";

// Entry points that leave the AWS SDK v3 to the Lambda runtime instead of bundling it.
const SDK_FROM_RUNTIME = [/(^|[\\/])functions[\\/]ingest\.ts$/];

function entryPaths(entryPoints) {
  if (entryPoints === undefined) return [];
  if (Array.isArray(entryPoints)) return entryPoints.map((entry) => (typeof entry === "string" ? entry : entry.in));
  return Object.values(entryPoints);
}

/**
 * Decides per function where the AWS SDK comes from. The queue-mode ingest function imports it
 * from the runtime, which keeps its bundle small and free of the SDK. The other functions bundle
 * the clients they use, and esbuild keeps only the commands they send from the SDK's ES modules.
 * Loading that is several times faster than loading the whole client packages from the runtime.
 */
const awsSdkPlacement = {
  name: "aws-sdk-placement",
  setup(build) {
    const fromRuntime = entryPaths(build.initialOptions.entryPoints).some((path) => SDK_FROM_RUNTIME.some((pattern) => pattern.test(path)));
    if (!fromRuntime) return;
    build.onResolve({ filter: /^@aws-sdk\// }, (args) => ({ path: args.path, external: true }));
  },
};

module.exports = [awsSdkPlacement];
