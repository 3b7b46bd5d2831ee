import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runCli } from "../../lib/cli/main";
import { replayCommand } from "../../lib/cli/queue";
import { routesCommand } from "../../lib/cli/routes";
import { openLocalQueues } from "../../lib/delivery/local-queue";
import { decodeEnvelope } from "../../lib/delivery/queue";
import { captureCliOutput } from "../helpers/cli-output";

const MAPPING = "test/fixtures/generic/edge-fw-cef-mapping.json";
const DELIVERY = "test/fixtures/payloads/generic-cef-line-in-json.json";

describe("BRIDGE_GENERIC_MAPPINGS in the CLI", () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-cli-mappings-"));
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("normalize reads the variable", async () => {
    vi.stubEnv("BRIDGE_GENERIC_MAPPINGS", ` ${MAPPING} ,`);
    const output = captureCliOutput();

    const code = await runCli(["normalize", "--source", "edge-fw", DELIVERY], output.io);

    expect(output.err()).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(output.out())).toHaveLength(1);
  });

  it("routes explain reads the variable", async () => {
    const output = captureCliOutput();

    const code = await routesCommand(["explain", "--source", "edge-fw", DELIVERY], output.io, { BRIDGE_GENERIC_MAPPINGS: MAPPING });

    expect(output.err()).toBe("");
    expect(code).toBe(0);
    expect(output.out()).toMatch(/^no routing file, every alert to the SECMASTER_\* default target; 1 alert in /);
    expect(output.out()).toContain("alert 1 of 1: edge-fw ");
  });

  it("routes explain reads raw CEF lines", async () => {
    const output = captureCliOutput();

    const code = await routesCommand(["explain", "--source", "edge-fw", "test/fixtures/generic/edge-fw-cef-lines.txt"], output.io, { BRIDGE_GENERIC_MAPPINGS: MAPPING });

    expect(output.err()).toBe("");
    expect(code).toBe(0);
    expect(output.out()).toContain("; 2 alerts in test/fixtures/generic/edge-fw-cef-lines.txt\n");
    expect(output.out()).toContain("alert 1 of 2: edge-fw ExampleCorp|EdgeFW|scan-1 (firing, High)");
  });

  it("replay reads the variable", async () => {
    const output = captureCliOutput();

    const code = await replayCommand(["--source", "edge-fw", "--data-dir", dataDir, DELIVERY], output.io, { BRIDGE_GENERIC_MAPPINGS: MAPPING });

    expect(output.err()).toContain("no routing file (--routes or BRIDGE_ROUTES_FILE), so every firing alert goes to the SECMASTER_* default target\n");
    expect(output.err()).toContain(`warning: no local bridge runs on the data folder ${dataDir}`);
    expect(code).toBe(0);
    const messages = await openLocalQueues(dataDir, 5).queue.receive({ maxMessages: 10, visibilityTimeoutMs: 0 });
    expect(messages).toHaveLength(1);
    expect(decodeEnvelope(messages[0]!.body).job.source).toBe("edge-fw");
  });

  it("--mapping replaces the variable", async () => {
    const output = captureCliOutput();

    const code = await routesCommand(["explain", "--source", "edge-fw", "--mapping", MAPPING, DELIVERY], output.io, {
      BRIDGE_GENERIC_MAPPINGS: "/nonexistent/mapping.json",
    });

    expect(output.err()).toBe("");
    expect(code).toBe(0);
  });

  it("unknown source names both ways to add one", async () => {
    const output = captureCliOutput();

    const code = await routesCommand(["explain", "--source", "edge-waf", DELIVERY], output.io, { BRIDGE_GENERIC_MAPPINGS: MAPPING });

    expect(code).toBe(2);
    expect(output.err()).toBe(
      'unknown source "edge-waf"; known sources: alertmanager, cloudwatch, datadog, edge-fw, elastic, grafana, guardduty, ' +
        "huaweicloud-ces, securityhub, sentinel, splunk, wazuh. " +
        "A generic JSON source needs its mapping file: pass --mapping FILE or set BRIDGE_GENERIC_MAPPINGS\n",
    );
  });

  it("unreadable mapping file is a configuration error", async () => {
    const output = captureCliOutput();

    const code = await replayCommand(["--source", "edge-fw", "--data-dir", dataDir, DELIVERY], output.io, { BRIDGE_GENERIC_MAPPINGS: "/nonexistent/mapping.json" });

    expect(code).toBe(1);
    expect(output.err()).toMatch(/^invalid configuration:\n {2}- BRIDGE_GENERIC_MAPPINGS: cannot read \/nonexistent\/mapping\.json: /);
  });
});
