import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// Runs `npm start`'s entry point in its own process, as a user does, and reads its log lines.

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface LogLine {
  message?: string;
  function_name?: string;
  function_request_id?: string;
}

let child: ChildProcess | undefined;
const dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-log-labels-"));

afterAll(() => {
  child?.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

describe("local bridge logs", () => {
  it("label each line with the function that wrote it", async () => {
    const [port, emulatorPort] = [await freePort(), await freePort()];
    child = spawn(process.execPath, ["--import", "tsx", "lib/local/main.ts"], {
      env: {
        PATH: process.env.PATH ?? "",
        BRIDGE_DATA_DIR: dataDir,
        PORT: String(port),
        SECMASTER_EMULATOR_PORT: String(emulatorPort),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        AWS_EC2_METADATA_DISABLED: "true",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const lines = (): LogLine[] =>
      output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as LogLine);
    const waitFor = async (done: () => boolean) => {
      for (let waited = 0; !done(); waited += 100) {
        if (waited > 20_000) throw new Error(`timed out; output so far:\n${output.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await waitFor(() => lines().some((line) => line.message === "secmaster-bridge is listening"));

    const body = readFileSync("examples/alertmanager-firing.json");
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        fetch(`http://127.0.0.1:${port}/v1/alerts/alertmanager`, { method: "POST", headers: { "content-type": "application/json" }, body }),
      ),
    );
    await waitFor(() => lines().filter((line) => line.message === "batch dispatched").length >= 5);

    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202]);
    const labelsOf = (message: string) => [...new Set(lines().filter((line) => line.message === message).map((line) => line.function_name))];
    expect(labelsOf("delivery processed")).toEqual(["secmaster-bridge-local-ingest"]);
    expect(labelsOf("batch dispatched")).toEqual(["secmaster-bridge-local-dispatch"]);
    const ingestIds = new Set(lines().filter((line) => line.message === "delivery processed").map((line) => line.function_request_id));
    const dispatchIds = lines().filter((line) => line.message === "batch dispatched").map((line) => line.function_request_id);
    expect(dispatchIds.filter((id) => ingestIds.has(id))).toEqual([]);

    // SIGTERM after Ctrl-C used to start a second stop beside the first.
    const exited = new Promise<number | null>((resolve) => child!.once("exit", resolve));
    child.kill("SIGINT");
    child.kill("SIGTERM");
    const exitCode = await exited;

    const stopMessages = lines()
      .map((line) => line.message ?? "")
      .filter((message) => /^(already )?stop/.test(message));
    expect(exitCode).toBe(0);
    expect(stopMessages).toEqual(["stopping", "already stopping; the first signal's stop goes on (Ctrl-C again stops at once)", "stopped"]);
  }, 60_000);
});

describe("local bridge start failures", () => {
  it("logs the invalid settings instead of crashing", async () => {
    const failedDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-start-failure-"));
    try {
      const started = spawn(process.execPath, ["--import", "tsx", "lib/local/main.ts"], {
        env: {
          PATH: process.env.PATH ?? "",
          BRIDGE_DATA_DIR: failedDir,
          BRIDGE_MODE: "bogus",
          PORT: String(await freePort()),
          SECMASTER_EMULATOR_PORT: String(await freePort()),
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
          AWS_EC2_METADATA_DISABLED: "true",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      started.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      started.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const exitCode = await new Promise<number | null>((resolve) => started.once("exit", resolve));

      expect(exitCode).toBe(1);
      expect(output).not.toContain("No context available");
      const failure = output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { message?: string; issues?: string[] })
        .find((line) => line.message === "invalid configuration");
      expect(failure?.issues?.some((issue) => issue.startsWith("BRIDGE_MODE"))).toBe(true);
    } finally {
      rmSync(failedDir, { recursive: true, force: true });
    }
  }, 60_000);
});
