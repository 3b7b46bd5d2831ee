import { readFileSync } from "node:fs";
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

  it("--version prints the package version", async () => {
    const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

    const version = await run(["--version"]);

    expect(version.code).toBe(0);
    expect(version.out).toBe(`${manifest.version}\n`);
  });

  it("COMMAND --help prints that command's usage", async () => {
    const help = await run(["replay", "--help"]);

    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage:\n {2}replay --source SOURCE FILE /);
    expect(help.out).not.toContain("redrive");
  });

  it("routes check --help lists --mapping", async () => {
    const help = await run(["routes", "check", "--help"]);

    expect(help.code).toBe(0);
    expect(help.out).toMatch(/routes check FILE[^]*\n {6}--mapping FILE {2,}[^]*\n {6}--data-dir DIR[^]*routes explain/);
  });

  it.each(["routes", "normalize", "schedule"])("help %s prints that command's usage", async (command) => {
    const help = await run(["help", command]);

    expect(help.code).toBe(0);
    expect(help.out).toMatch(new RegExp(`^Usage:\\n {2}${command} `));
    expect(help.out).not.toContain("redrive");
  });

  it.each(["--help", "help"])("help %s prints the overview", async (argument) => {
    const help = await run(["help", argument]);

    expect(help.code).toBe(0);
    expect(help.err).toBe("");
    expect(help.out).toContain("Run the SecMaster emulator alone on 127.0.0.1.");
  });

  it("help of an unknown command exits with 2", async () => {
    const help = await run(["help", "rotues"]);

    expect(help.code).toBe(2);
    expect(help.out).toBe("");
    expect(help.err).toBe('unknown command "rotues"; did you mean "routes"? Run secmaster-bridge help for the usage.\n');
  });
});

describe("unknown commands", () => {
  it.each([
    ["replya", "replay"],
    ["rotues", "routes"],
    ["normalise", "normalize"],
    ["Schedule", "schedule"],
    ["emulater", "emulator"],
  ])("%s suggests %s", async (typed, suggested) => {
    const result = await run([typed, "--source", "splunk"]);

    expect(result.code).toBe(2);
    expect(result.out).toBe("");
    expect(result.err).toBe(`unknown command "${typed}"; did you mean "${suggested}"? Run secmaster-bridge help for the usage.\n`);
  });

  it("far-off name lists the commands", async () => {
    const result = await run(["deploy"]);

    expect(result.code).toBe(2);
    expect(result.out).toBe("");
    expect(result.err).toBe(
      'unknown command "deploy"; the commands are normalize, emulator, routes, schedule, redrive, replay and help. ' +
        "Run secmaster-bridge help for the usage.\n",
    );
  });
});

describe("wrong command lines", () => {
  it("unknown option names the option and the usage", async () => {
    const result = await run(["normalize", "--source", "alertmanager", "--bogus", "x", "examples/alertmanager-firing.json"]);

    expect(result.code).toBe(2);
    expect(result.out).toBe("");
    expect(result.err).toMatch(/^unknown option --bogus for normalize\n\nUsage:\n {2}normalize --source SOURCE FILE /);
    expect(result.err).not.toContain("    at ");
  });

  it.each([
    [["routes", "explain", "--source", "alertmanager", "--verbose", "x.json"], "unknown option --verbose for routes explain", "  routes check FILE"],
    [["schedule", "run", "nightly-posture", "--at=2026-01-15T18:00:00Z", "--dryrun"], "unknown option --dryrun for schedule run", "  schedule list"],
    [["redrive", "-n"], "unknown option -n for redrive", "  redrive "],
    [["replay", "--source", "splunk", "--queue", "u", "x.json"], "unknown option --queue for replay", "  replay --source SOURCE FILE"],
    [["emulator", "--host", "0.0.0.0"], "unknown option --host for emulator", "  emulator "],
  ])("%j is rejected with exit code 2", async (args, message, usage) => {
    const result = await run(args);

    expect(result.code).toBe(2);
    expect(result.err.split("\n")[0]).toBe(message);
    expect(result.err).toContain(`\n\nUsage:\n${usage}`);
  });

  it("missing option value keeps Node's reason", async () => {
    const result = await run(["normalize", "examples/alertmanager-firing.json", "--source"]);

    expect(result.code).toBe(2);
    expect(result.err.split("\n")[0]).toBe("normalize: Option '--source <value>' argument missing");
  });

  it("unexpected argument is rejected", async () => {
    const result = await run(["redrive", "now"]);

    expect(result.code).toBe(2);
    expect(result.err.split("\n")[0]).toBe("redrive: Unexpected argument 'now'. This command does not take positional arguments");
  });
});
