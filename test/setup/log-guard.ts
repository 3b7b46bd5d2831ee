import { Buffer } from "node:buffer";
import { afterAll, expect } from "vitest";
import { TEST_SECRET_VALUES } from "../helpers/test-secrets";

// Runs in every test file (vitest setupFiles): watches everything written to stdout and stderr,
// where the Powertools Logger writes, and fails the file if a test secret appears.
const leaks = new Set<string>();

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    for (const secret of TEST_SECRET_VALUES) {
      // Only a prefix is kept, so the failure message does not print the secret either.
      if (text.includes(secret)) leaks.add(`${secret.slice(0, 6)}…`);
    }
    return write(chunk, ...rest);
  });
}

afterAll(() => {
  expect([...leaks], "test secrets were written to the log output").toEqual([]);
});
