import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runCli } from "../../lib/cli/main";

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const code = await runCli(args, { out, err });
  return { code, out: String(out.read() ?? ""), err: String(err.read() ?? "") };
}

describe("secmaster-bridge help", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("help names the emulator key pair", async () => {
    const help = await run(["help"]);

    expect(help.code).toBe(0);
    expect(help.out).toContain("Run the SecMaster emulator alone on 127.0.0.1. Requires\n");
    expect(help.out).toContain("SECMASTER_AK and SECMASTER_SK, the key pair it accepts.");
  });

  it("emulator without a key pair exits with 2", async () => {
    vi.stubEnv("SECMASTER_AK", undefined);
    vi.stubEnv("SECMASTER_SK", undefined);

    const emulator = await run(["emulator", "--port", "0"]);

    expect(emulator.code).toBe(2);
    expect(emulator.err).toBe("set SECMASTER_AK and SECMASTER_SK to the key pair the emulator should accept\n");
  });
});
