import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const run = promisify(execFile);
const CLI = resolve("bin/secmaster-bridge.js");
const SCHEDULES = resolve("test/fixtures/schedule/schedules.yaml");

let folder: string;

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), "secmaster-bridge-cli-dotenv-"));
});

afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

// The command runs as a user runs it: the installed bin, in a folder of its own.
async function cli(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], { cwd: folder, env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "SILENT", ...env } });
  return stdout;
}

describe("CLI settings from .env", () => {
  it("reads the schedules file named in .env", async () => {
    writeFileSync(join(folder, ".env"), `BRIDGE_SCHEDULES_FILE=${SCHEDULES}\n`);

    const output = await cli(["schedule", "list", "--from", "2026-01-15T08:00:00Z"]);

    expect(output).toContain("nightly-posture");
    expect(output).toContain("2026-01-15T18:00:00.000Z");
  }, 30_000);

  it("lets the shell's variables win over .env", async () => {
    writeFileSync(join(folder, ".env"), "BRIDGE_SCHEDULES_FILE=missing-schedules.yaml\n");

    const output = await cli(["schedule", "list", "--from", "2026-01-15T08:00:00Z"], { BRIDGE_SCHEDULES_FILE: SCHEDULES });

    expect(output).toContain("hourly-sweep");
  }, 30_000);
});
