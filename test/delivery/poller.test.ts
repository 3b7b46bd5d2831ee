import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openLocalQueues } from "../../lib/delivery/local-queue";
import { startQueuePoller } from "../../lib/delivery/poller";
import { captureLogOutput } from "../helpers/log-capture";
import { waitFor } from "./harness";

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-poller-"));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe("startQueuePoller", () => {
  it("deletes the messages an invocation finished", async () => {
    const { queue } = openLocalQueues(dataDir, 3);
    await queue.send([
      { id: "a", body: "first" },
      { id: "b", body: "second" },
    ]);
    const seen: string[] = [];
    const poller = startQueuePoller({
      queue,
      handler: (event: SQSEvent): Promise<SQSBatchResponse> => {
        seen.push(...event.Records.map((record) => record.body));
        return Promise.resolve({ batchItemFailures: [] });
      },
      batchSize: 10,
      functionTimeoutMs: 5_000,
      parallelism: 1,
      idleDelayMs: 20,
    });

    await waitFor(async () => (await queue.approximateCount()) === 0, 5_000, "the queue to empty");
    await poller.close();

    expect(seen.sort()).toEqual(["first", "second"]);
  });

  it("warns when it stops with jobs in flight", async () => {
    const { queue } = openLocalQueues(dataDir, 3);
    await queue.send([{ id: "a", body: "stuck" }]);
    let release: () => void = () => undefined;
    let invoked = false;
    const poller = startQueuePoller({
      queue,
      handler: (): Promise<SQSBatchResponse> => {
        invoked = true;
        return new Promise((resolve) => {
          release = () => resolve({ batchItemFailures: [{ itemIdentifier: "a" }] });
        });
      },
      batchSize: 10,
      functionTimeoutMs: 60_000,
      parallelism: 1,
      idleDelayMs: 20,
      closeGraceMs: 100,
    });
    await waitFor(() => invoked, 5_000, "the handler to run");
    const logs = captureLogOutput();

    try {
      await poller.close();
    } finally {
      logs.restore();
      release();
    }

    const warning = logs
      .text()
      .split("\n")
      .find((line) => line.includes("stopped while jobs were still being dispatched"));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: "WARN", jobs: 1 });
    expect(await queue.approximateCount()).toBe(1);
  });
});
