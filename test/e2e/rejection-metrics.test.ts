import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalBridge } from "../../lib/local/bridge";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";

/** Runs `action` and returns its result with everything written to stdout and stderr meanwhile. */
async function captureOutput<T>(action: () => Promise<T>): Promise<{ result: T; output: string }> {
  const written: string[] = [];
  const originalStdout = process.stdout.write.bind(process.stdout);
  const originalStderr = process.stderr.write.bind(process.stderr);
  const capture = (write: typeof process.stdout.write): typeof process.stdout.write =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(String(chunk));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    });

  process.stdout.write = capture(originalStdout);
  process.stderr.write = capture(originalStderr);
  try {
    const result = await action();
    return { result, output: written.join("") };
  } finally {
    process.stdout.write = originalStdout;
    process.stderr.write = originalStderr;
  }
}

describe("metrics of a rejected delivery", () => {
  let bridge: LocalBridge;

  beforeAll(async () => {
    bridge = await startTestBridge({ inMemoryStore: true });
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("publishes DeliveriesRejected and no warning line", async () => {
    const { result: answer, output } = await captureOutput(() => postAlerts(bridge.url, "alertmanager", "{not json"));

    expect(answer.status).toBe(400);
    expect(output).not.toContain("No application metrics to publish");
    expect(output).toContain('"DeliveriesRejected"');
  });
});

describe("metrics of an empty delivery", () => {
  let bridge: LocalBridge;

  beforeAll(async () => {
    bridge = await startTestBridge({ inMemoryStore: true, env: { BRIDGE_GENERIC_MAPPINGS: "test/fixtures/payloads/generic-mapping-config.json" } });
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("writes no empty-metrics warning", async () => {
    const { result: answer, output } = await captureOutput(() => postAlerts(bridge.url, "custom-idp", "[]"));

    expect(answer.status).toBe(200);
    expect(output).toContain('"delivery processed"');
    expect(output).not.toContain("No application metrics to publish");
  });
});
