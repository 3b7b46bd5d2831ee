import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Fails any test file whose log output contains one of the test secrets, and registers the
    // YAML parser that the deployed functions leave out.
    setupFiles: ["test/setup/log-guard.ts", "test/setup/yaml.ts"],
    // The suite starts real servers on 127.0.0.1; two workers fit the 2-core CI machine.
    pool: "forks",
    maxWorkers: 2,
    // An AWS SDK client whose mock misses a call looks for credentials, and its last fallback
    // queries the EC2 instance metadata service. With this set, the SDK skips that fallback.
    env: { AWS_EC2_METADATA_DISABLED: "true" },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
