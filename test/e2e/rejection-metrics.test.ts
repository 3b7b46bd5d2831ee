import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalBridge } from "../../lib/local/bridge";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";

describe("metrics of a rejected delivery", () => {
  let bridge: LocalBridge;
  const written: string[] = [];
  const originalStdout = process.stdout.write.bind(process.stdout);
  const originalStderr = process.stderr.write.bind(process.stderr);

  function capture(write: typeof process.stdout.write): typeof process.stdout.write {
    return ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(String(chunk));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    });
  }

  beforeAll(async () => {
    bridge = await startTestBridge({ inMemoryStore: true });
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("publishes DeliveriesRejected and no warning line", async () => {
    process.stdout.write = capture(originalStdout);
    process.stderr.write = capture(originalStderr);
    try {
      const answer = await postAlerts(bridge.url, "alertmanager", "{not json");

      expect(answer.status).toBe(400);
    } finally {
      process.stdout.write = originalStdout;
      process.stderr.write = originalStderr;
    }

    const output = written.join("");
    expect(output).not.toContain("No application metrics to publish");
    expect(output).toContain('"DeliveriesRejected"');
  });
});
