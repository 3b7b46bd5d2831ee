import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Fails any test file whose log output contains one of the test secrets.
    setupFiles: ["test/setup/log-guard.ts"],
    // The suite starts real servers on 127.0.0.1; two workers fit the 2-core CI machine.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
