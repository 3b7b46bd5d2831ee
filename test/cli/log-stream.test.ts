import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openLocalQueues } from "../../lib/delivery/local-queue";
import { encodeEnvelope, newEnvelope } from "../../lib/delivery/queue";
import { logger } from "../../lib/logger";
import { ID_FOR_RIGHT, ID_FOR_WRONG, misroutedJob, RIGHT_WORKFLOW } from "../delivery/misrouted";

const run = promisify(execFile);
const CLI = resolve("bin/secmaster-bridge.js");

let folder: string;

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), "secmaster-bridge-cli-log-stream-"));
});

afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("CLI log lines", () => {
  it("go to stderr, not stdout", async () => {
    // A re-targeting redrive logs each moved job at INFO, a level Powertools prints on stdout.
    const { deadLetters } = openLocalQueues(folder, 5);
    await deadLetters.send([{ id: "0", body: encodeEnvelope(newEnvelope(misroutedJob())) }]);

    const { stdout, stderr } = await run(process.execPath, [CLI, "redrive", "--data-dir", folder, "--workflow-id", RIGHT_WORKFLOW], {
      cwd: folder,
      env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "INFO" },
    });

    expect(stdout).toContain(`re-targeted ${ID_FOR_WRONG} -> ${ID_FOR_RIGHT} `);
    expect(jsonLines(stdout)).toEqual([]);
    const logged = jsonLines(stderr).map((line) => line.message);
    expect(logged).toContain("dead-lettered job re-targeted");
  }, 30_000);

  it("stay on stdout outside the CLI", () => {
    const spy = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    let written: string[];
    try {
      logger.info("log stream check");
      written = spy.mock.calls.map(([chunk]) => String(chunk));
    } finally {
      spy.mockRestore();
    }

    expect(jsonLines(written.join("")).map((line) => line.message)).toEqual(["log stream check"]);
  });
});
