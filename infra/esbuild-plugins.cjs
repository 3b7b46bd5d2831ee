// esbuild plugins of the Lambda bundles, used by serverless-esbuild (`custom.esbuild.plugins` in
// serverless.yml) and by scripts/build.ts, so that the deployed bundles and the measured ones match.
"use strict";

// The Lambda handlers. Benchmark entries that compare against the AWS SDK are not among them.
const FUNCTION_ENTRY = /(^|[\\/])functions[\\/][\w-]+\.ts$/;

function entryPaths(entryPoints) {
  if (entryPoints === undefined) return [];
  if (Array.isArray(entryPoints)) return entryPoints.map((entry) => (typeof entry === "string" ? entry : entry.in));
  return Object.values(entryPoints);
}

/**
 * Fails the build of a function that imports the AWS SDK. The functions call SQS, SSM, Secrets
 * Manager and DynamoDB through lib/aws/client.ts, because loading one SDK client costs more cold
 * start than the rest of a function. The message names the importing file, so that a new import
 * is caught at `osls package` instead of in the cold start figures.
 */
const noAwsSdk = {
  name: "no-aws-sdk-in-functions",
  setup(build) {
    if (!entryPaths(build.initialOptions.entryPoints).some((path) => FUNCTION_ENTRY.test(path))) return;
    build.onResolve({ filter: /^@aws-sdk\// }, (args) => ({
      errors: [{ text: `${args.importer} imports ${args.path}; Lambda functions call AWS through lib/aws/client.ts instead of the AWS SDK` }],
    }));
  },
};

/**
 * Gives undici's HTTP/2 client module a stand-in for `node:http2` that loads the real module on
 * the first HTTP/2 connection instead of at import (infra/shims/lazy-http2.cjs).
 */
const lazyHttp2 = {
  name: "lazy-http2-in-undici",
  setup(build) {
    build.onResolve({ filter: /^node:http2$/ }, (args) =>
      /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/.test(args.importer) ? { path: require.resolve("./shims/lazy-http2.cjs") } : undefined,
    );
  },
};

/**
 * Gives the Powertools idempotency utility a stand-in for its JMESPath package, which it imports
 * for key expressions that the bridge does not use (infra/shims/no-jmespath.cjs).
 */
const noJmespath = {
  name: "no-jmespath-in-idempotency",
  setup(build) {
    build.onResolve({ filter: /^@aws-lambda-powertools\/jmespath(\/functions)?$/ }, (args) =>
      /[\\/]@aws-lambda-powertools[\\/]idempotency[\\/]/.test(args.importer) ? { path: require.resolve("./shims/no-jmespath.cjs") } : undefined,
    );
  },
};

module.exports = [noAwsSdk, lazyHttp2, noJmespath];
