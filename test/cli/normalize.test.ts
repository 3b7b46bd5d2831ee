import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../lib/cli/main";

function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

async function normalize(args: string[]) {
  const out = collector();
  const err = collector();
  const code = await runCli(["normalize", ...args], { out: out.stream, err: err.stream });
  return { code, out: out.text(), err: err.text() };
}

describe("secmaster-bridge normalize", () => {
  it.each([
    ["alertmanager", "payloads/alertmanager-firing-group.json", 3],
    ["grafana", "payloads/grafana-firing.json", 2],
    ["splunk", "payloads/splunk-once.json", 1],
    ["elastic", "payloads/elastic-security-summary-3-alerts.json", 3],
    ["sentinel", "payloads/sentinel-incident-created.json", 1],
    ["guardduty", "payloads/guardduty-ssh-bruteforce.json", 1],
    ["securityhub", "payloads/securityhub-imported-3-findings.json", 2],
    ["cloudwatch", "payloads/cloudwatch-eventbridge-alarm.json", 1],
    ["datadog", "payloads/datadog-custom-triggered.json", 1],
    ["wazuh", "payloads/wazuh-raw-alert-sshd-bruteforce.json", 1],
    ["huaweicloud-ces", "payloads/ces-smn-alarm-notification.json", 1],
  ])("prints %s bodies", async (source, file, count) => {
    const result = await normalize(["--source", source, "--received-at", "2024-05-14T10:00:00Z", fixture(file)]);

    expect(result.code).toBe(0);
    const bodies = JSON.parse(result.out) as { command_type: string; action_type: string }[];
    expect(bodies).toHaveLength(count);
    expect(bodies[0]!.command_type).toBe("ActionInstanceRunCommand");
    expect(bodies[0]!.action_type).toBe("workflow");
  });

  it("prints a generic source with its mapping file", async () => {
    const result = await normalize([
      "--source",
      "edge-fw",
      "--mapping",
      fixture("generic/edge-fw-cef-mapping.json"),
      fixture("payloads/generic-cef-line-in-json.json"),
    ]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toHaveLength(1);
  });

  it("names resolved alerts on stderr", async () => {
    const result = await normalize(["--source", "alertmanager", fixture("payloads/alertmanager-resolved.json")]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toEqual([]);
    expect(result.err).toMatch(/^skipped [0-9a-f-]{36}: alert is resolved/);
  });

  it("rejects an unknown source", async () => {
    const result = await normalize(["--source", "nope", fixture("payloads/alertmanager-resolved.json")]);

    expect(result.code).toBe(2);
    expect(result.err).toContain("unknown source");
  });

  it("reports a payload error with its code and field", async () => {
    const result = await normalize(["--source", "alertmanager", fixture("payloads/grafana-firing-hmac-request.json")]);

    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^BRIDGE\.PAYLOAD_INVALID: /);
  });
});

describe("secmaster-bridge normalize input", () => {
  it("reports a missing file without a stack trace", async () => {
    const result = await normalize(["--source", "alertmanager", "/nonexistent/delivery.json"]);

    expect(result.code).toBe(1);
    expect(result.err).toBe("BRIDGE.FILE_UNREADABLE: cannot read /nonexistent/delivery.json: ENOENT\nfix: pass the path of a saved delivery (a JSON file)\n");
  });

  it("sends the emulator's data class id by default", async () => {
    const result = await normalize(["--source", "alertmanager", fixture("payloads/alertmanager-firing-unicode.json")]);

    expect(JSON.parse(result.out)[0].playbook_context.data_object.dataclass).toEqual({ id: "00000000-0000-4000-8000-00000000d001", name: "Alert" });
  });

  it("reads raw CEF lines for a cef source", async () => {
    const result = await normalize(["--source", "edge-fw", "--mapping", fixture("generic/edge-fw-cef-mapping.json"), fixture("generic/edge-fw-cef-lines.txt")]);

    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toHaveLength(2);
  });

  it("names the file and no HTTP header for text that is not JSON", async () => {
    const result = await normalize(["--source", "alertmanager", fixture("generic/edge-fw-cef-lines.txt")]);

    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^BRIDGE\.BODY_NOT_JSON: .*edge-fw-cef-lines\.txt is not valid JSON: /);
    expect(result.err).toContain("\nfix: save the delivery as the JSON body the sender posts\n");
    expect(result.err).not.toContain("Content-Type");
  });
});

describe("secmaster-bridge normalize source options", () => {
  const saved = process.env.BRIDGE_SOURCE_OPTIONS;
  afterEach(() => {
    if (saved === undefined) delete process.env.BRIDGE_SOURCE_OPTIONS;
    else process.env.BRIDGE_SOURCE_OPTIONS = saved;
  });

  it("treats an empty variable as unset", async () => {
    process.env.BRIDGE_SOURCE_OPTIONS = "";

    const result = await normalize(["--source", "splunk", fixture("payloads/splunk-once.json")]);

    expect(result.code).toBe(0);
  });

  it("rejects a variable that is not JSON", async () => {
    process.env.BRIDGE_SOURCE_OPTIONS = "{bad";

    const result = await normalize(["--source", "splunk", fixture("payloads/splunk-once.json")]);

    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^invalid configuration:\n {2}- BRIDGE_SOURCE_OPTIONS: must be a JSON object keyed by source id/);
  });

  it("rejects an unknown source id", async () => {
    process.env.BRIDGE_SOURCE_OPTIONS = '{"splunkk":{}}';

    const result = await normalize(["--source", "splunk", fixture("payloads/splunk-once.json")]);

    expect(result.code).toBe(1);
    expect(result.err).toBe("invalid configuration:\n  - BRIDGE_SOURCE_OPTIONS: splunkk: unknown source id\n");
  });

  it("rejects --options that is not JSON", async () => {
    const result = await normalize(["--source", "splunk", "--options", "{bad", fixture("payloads/splunk-once.json")]);

    expect(result.code).toBe(1);
    expect(result.err).toContain("--options: must be a JSON object");
  });
});
