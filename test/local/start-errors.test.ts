import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LOCAL_BRIDGE_FILE } from "../../lib/local/data-dir";

// Runs `npm start`'s entry point in its own process, as a user does, and reads what a failed start prints.

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-start-errors-"));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function listen(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

async function freePort(): Promise<number> {
  const server = await listen();
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the local bridge with `env` and returns its exit code and stderr once it exits. */
async function failedStart(env: Record<string, string>): Promise<{ exitCode: number | null; stderr: string }> {
  const started = spawn(process.execPath, ["--import", "tsx", "lib/local/main.ts"], {
    env: {
      PATH: process.env.PATH ?? "",
      BRIDGE_DATA_DIR: dataDir,
      PORT: String(await freePort()),
      SECMASTER_EMULATOR_PORT: String(await freePort()),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      AWS_EC2_METADATA_DISABLED: "true",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  started.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => started.kill("SIGKILL"), 30_000);
  const exitCode = await new Promise<number | null>((resolve) => started.once("exit", resolve));
  clearTimeout(timer);
  return { exitCode, stderr };
}

/** Returns the text of stderr without its JSON log lines. */
function plainText(stderr: string): string {
  return stderr
    .split("\n")
    .filter((line) => !line.startsWith("{"))
    .join("\n")
    .trim();
}

describe("npm start failures", () => {
  it("lists configuration issues with the code", async () => {
    const { exitCode, stderr } = await failedStart({ BRIDGE_MODE: "bogus", BRIDGE_GENERIC_MAPPINGS: join(dataDir, "missing.json") });

    expect(exitCode).toBe(1);
    const lines = plainText(stderr).split("\n");
    expect(lines[0]).toBe("BRIDGE.CONFIG_INVALID: invalid configuration:");
    expect(lines[1]).toBe('  - BRIDGE_MODE: Invalid option: expected one of "queue"|"direct"');
    expect(lines[2]).toMatch(/^ {2}- BRIDGE_GENERIC_MAPPINGS: cannot read .*missing\.json: ENOENT/);
    expect(lines).toHaveLength(3);
  }, 60_000);

  it("keeps the structured log line", async () => {
    const { stderr } = await failedStart({ BRIDGE_MODE: "bogus" });

    const logLine = stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { message?: string; code?: string; issues?: string[] })
      .find((line) => line.message === "invalid configuration");
    expect(logLine?.code).toBe("BRIDGE.CONFIG_INVALID");
    expect(logLine?.issues).toEqual(['BRIDGE_MODE: Invalid option: expected one of "queue"|"direct"']);
  }, 60_000);

  it("names a port in use and the fix", async () => {
    const busy = await listen();
    const { port } = busy.address() as { port: number };
    try {
      const { exitCode, stderr } = await failedStart({ BRIDGE_MODE: "direct", PORT: String(port) });

      expect(exitCode).toBe(1);
      const lines = plainText(stderr).split("\n");
      expect(lines[0]).toBe(`EADDRINUSE: 127.0.0.1:${port} is in use by another process`);
      expect(lines[1]).toMatch(/^fix: stop that process, or set PORT /);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  }, 60_000);

  it("names a data folder in use and the fix", async () => {
    // The test process is alive, so its claim on the folder holds.
    writeFileSync(join(dataDir, LOCAL_BRIDGE_FILE), JSON.stringify({ pid: process.pid, startId: "test", startedAt: new Date().toISOString() }));

    const { exitCode, stderr } = await failedStart({});

    expect(exitCode).toBe(1);
    const lines = plainText(stderr).split("\n");
    expect(lines[0]).toBe(`BRIDGE.DATA_DIR_IN_USE: the data folder ${dataDir} is in use: the local bridge of process ${process.pid} uses it`);
    expect(lines[1]).toMatch(/^fix: stop that bridge \(Ctrl-C in its shell, or kill \d+\)/);
  }, 60_000);
});
