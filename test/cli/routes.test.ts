import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routesCommand } from "../../lib/cli/routes";
import { runCli } from "../../lib/cli/main";
import type { RunningEmulator } from "../../lib/local/emulator";
import { ROUTING_IDS, routedWorkflowId, startRoutingEmulator } from "../helpers/routing-emulator";

function capture() {
  const out = new PassThrough();
  const err = new PassThrough();
  const text = { out: "", err: "" };
  out.on("data", (chunk: Buffer) => (text.out += chunk.toString()));
  err.on("data", (chunk: Buffer) => (text.err += chunk.toString()));
  return { io: { out, err }, text };
}

const dir = mkdtempSync(join(tmpdir(), "routes-cli-"));
const CHECKED_ROUTES = join(dir, "checked.yaml");
writeFileSync(
  CHECKED_ROUTES,
  `rules:
  - name: fine
    targets:
      - { workspace_id: ${ROUTING_IDS.workspaceId}, workflow_id: ${routedWorkflowId(1)}, dataclass: { id: ${ROUTING_IDS.dataclassId}, name: Alert } }
  - name: paused
    match: { source: grafana }
    targets:
      - { workspace_id: ${ROUTING_IDS.workspaceId}, workflow_id: ${routedWorkflowId(6)} }
  - name: incidents
    match: { source: splunk }
    targets:
      - { workspace_id: ${ROUTING_IDS.workspaceId}, workflow_id: ${routedWorkflowId(7)}, dataclass: { name: Alert } }
      - { workspace_id: ${ROUTING_IDS.workspaceId}, workflow_id: ${routedWorkflowId(9)} }
`,
);

describe("routes check", () => {
  let emulator: RunningEmulator;
  let env: Record<string, string>;

  beforeAll(async () => {
    const started = await startRoutingEmulator([
      { id: routedWorkflowId(6), name: "paused flow", dataclassId: ROUTING_IDS.dataclassId, dataclassName: "Alert", enabled: false },
      { id: routedWorkflowId(7), name: "incident flow", dataclassId: "dddddddd-0000-4000-8000-000000000002", dataclassName: "Incident" },
    ]);
    emulator = started.emulator;
    env = started.env;
  });
  afterAll(async () => {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("names the missing file, not a variable", async () => {
    const { io, text } = capture();

    const code = await routesCommand(["check", "/nonexistent/routes.yaml"], io, {});

    expect(code).toBe(1);
    expect(text.err).toContain("routes file: cannot read /nonexistent/routes.yaml: ENOENT");
    expect(text.err).not.toContain("BRIDGE_ROUTES_FILE");
  });

  it("validates a file without credentials", async () => {
    const { io, text } = capture();

    const code = await routesCommand(["check", "test/fixtures/routing/routes.yaml"], io, { BRIDGE_DATA_DIR: dir });

    expect(code).toBe(0);
    expect(text.out).toContain("test/fixtures/routing/routes.yaml: valid, 4 rules\n");
    expect(text.out).toContain("workflows not checked");
  });

  it("passes when every workflow is fine", async () => {
    const { io, text } = capture();

    const code = await routesCommand(["check", "test/fixtures/routing/routes.yaml"], io, env);

    expect(text.err).toBe("");
    expect(code).toBe(0);
    const lines = text.out.trim().split("\n");
    expect(lines[1]).toMatch(/^RULE\s+PROJECT\s+WORKSPACE\s+WORKFLOW\s+NAME\s+ENABLED\s+DATACLASS\s+RESULT$/);
    expect(lines.slice(2).map((line) => line.split(/\s{2,}/)[0])).toEqual(["secops-critical", "secops-critical", "edge-clusters", "close-resolved", "(default)"]);
    expect(lines.slice(2).every((line) => line.endsWith("  ok"))).toBe(true);
  });

  it("reports disabled, mismatched and missing workflows", async () => {
    const { io, text } = capture();

    const code = await routesCommand(["check", CHECKED_ROUTES], io, env);

    expect(code).toBe(1);
    const rows = text.out.trim().split("\n").slice(2);
    expect(rows).toHaveLength(5);
    expect(rows[0]).toMatch(/^fine\s.*aaaaaaaa-0000-4000-8000-000000000001\s+workflow 01\s+yes\s+Alert\s+ok$/);
    expect(rows[1]).toMatch(/^paused\s.*paused flow\s+no\s+Alert\s+workflow is disabled$/);
    expect(rows[2]).toMatch(/^incidents\s.*incident flow\s+yes\s+Incident\s+data class Alert expected, workflow runs on Incident$/);
    expect(rows[3]).toMatch(/^incidents\s.*aaaaaaaa-0000-4000-8000-000000000009\s+-\s+-\s+-\s+not found or not permitted: 400 SecMaster\.\d+$/);
    expect(rows[4]).toMatch(/^\(default\)\s.*ok$/);
    expect(text.err).toBe("3 of 5 targets failed the check\n");
  });

  it("lists every issue of an invalid file", async () => {
    const broken = join(dir, "broken.yaml");
    writeFileSync(broken, "rules:\n  - name: a\n  - name: a\n    drop: true\n");
    const { io, text } = capture();

    const code = await routesCommand(["check", broken], io, env);

    expect(code).toBe(1);
    expect(text.out).toBe("");
    expect(text.err).toBe(
      `${broken}: invalid routing file, 2 problems\n` +
        `  - ${broken}: rules[0] (name "a"): targets: is required unless the rule sets drop: true\n` +
        `  - ${broken}: rules[1] (name "a"): name: duplicates the name of rules[0]; give every rule its own name\n`,
    );
  });

  it("lists problems of the first and third rules", async () => {
    // Schema errors in the first rule must hide neither its drop conflict nor the cross-rule
    // problems of the third rule.
    const broken = join(dir, "first-and-third.yaml");
    writeFileSync(
      broken,
      `rules:
  - name: first-broken
    match: { min_severity: Critical }
    drop: true
    targets:
      - { workspace_id: ${ROUTING_IDS.workspaceId}, workflow_id: ${routedWorkflowId(1)} }
  - name: fine
    match: { source: grafana }
    targets:
      - { workspace_id: ${ROUTING_IDS.workspaceId}, workflow_id: ${routedWorkflowId(2)} }
  - name: third-broken
    match: { status: resolved, fields: { data_source.product_nam: Falco } }
    targets:
      - { workspace_id: ${ROUTING_IDS.workspaceId}, workflow_id: "wf/3" }
      - { workspace_id: ${ROUTING_IDS.workspaceId}, workflow_id: ${routedWorkflowId(2)} }
`,
    );
    const { io, text } = capture();

    const code = await routesCommand(["check", broken], io, {});

    expect(code).toBe(1);
    expect(text.out).toBe("");
    expect(text.err.split("\n")).toEqual([
      `${broken}: invalid routing file, 5 problems`,
      `  - ${broken}: rules[0] (name "first-broken"): match.min_severity: Invalid option: expected one of "Tips"|"Low"|"Medium"|"High"|"Fatal"`,
      `  - ${broken}: rules[0] (name "first-broken"): drop: a rule that drops alerts cannot also list targets`,
      `  - ${broken}: rules[2] (name "third-broken"): targets[0].workflow_id: must be 1 to 128 letters, digits, '-', '_', '.' or '~', not starting with '.'`,
      `  - ${broken}: rules[2] (name "third-broken"): match.fields.data_source.product_nam: data_source.product_nam is not a field of the SecMaster Alert data class`,
      `  - ${broken}: rules[2] (name "third-broken"): targets[1].workflow_id: workflow aaaaaaaa-0000-4000-8000-000000000002 also receives firing alerts from rule "fine", so a resolved alert would get the same action_instance_id as its firing episode and start nothing; route resolved alerts to a separate resolve workflow`,
      "",
    ]);
  });

  it("prints a valid file's summary unchanged", async () => {
    const { io, text } = capture();

    // The test's folder contains no local bridge, whose emulator the command would use.
    const code = await routesCommand(["check", "test/fixtures/routing/routes.yaml"], io, { BRIDGE_DATA_DIR: dir });

    expect(code).toBe(0);
    expect(text.err).toBe("");
    expect(text.out).toBe(
      "test/fixtures/routing/routes.yaml: valid, 4 rules\n" +
        "workflows not checked: set SECMASTER_AK and SECMASTER_SK (or SECMASTER_AUTH_TOKEN) to check each workflow in SecMaster, " +
        "or run npm start on the data folder to check them in its emulator\n",
    );
  });

  it("says once that SecMaster rejected the credentials", async () => {
    const { io, text } = capture();

    const code = await routesCommand(["check", CHECKED_ROUTES], io, { ...env, SECMASTER_SK: "wrong-secret-key" });

    expect(code).toBe(1);
    expect(text.out).toBe(`${CHECKED_ROUTES}: valid, 3 rules\n`);
    expect(text.err).toMatch(/^SecMaster rejected the credentials \(401 APIG\.\d+\), so no workflow was checked; check SECMASTER_AK and SECMASTER_SK \(or SECMASTER_AUTH_TOKEN\) and the project ids\n$/);
  });

  it("rejects a match.source that no source has", async () => {
    const routes = join(dir, "unknown-source.yaml");
    writeFileSync(routes, "rules:\n  - name: edge\n    match: { source: edge-fw }\n    drop: true\n");
    const { io, text } = capture();

    const code = await routesCommand(["check", routes], io, {});

    expect(code).toBe(1);
    expect(text.err).toContain(
      `  - ${routes}: rules[0] (name "edge"): match.source: "edge-fw" is not a known source id, so the rule never matches; known source ids: alertmanager, cloudwatch, datadog,`,
    );
  });

  it("accepts generic source ids from --mapping or BRIDGE_GENERIC_MAPPINGS", async () => {
    const routes = join(dir, "generic-source.yaml");
    writeFileSync(routes, "rules:\n  - name: edge\n    match: { source: edge-fw }\n    drop: true\n");
    const mapping = "test/fixtures/generic/edge-fw-cef-mapping.json";
    const fromOption = capture();
    const fromEnv = capture();

    const optionCode = await routesCommand(["check", "--mapping", mapping, routes], fromOption.io, {});
    const envCode = await routesCommand(["check", routes], fromEnv.io, { BRIDGE_GENERIC_MAPPINGS: mapping });

    expect(fromOption.text.err).toBe("");
    expect(optionCode).toBe(0);
    expect(fromEnv.text.err).toBe("");
    expect(envCode).toBe(0);
  });

  it("names --mapping in the problems of its files", async () => {
    const { io, text } = capture();

    const code = await routesCommand(["check", "--mapping", "/nonexistent/mapping.json", "test/fixtures/routing/routes.yaml"], io, {});

    expect(code).not.toBe(0);
    expect(text.err).toContain("- --mapping: cannot read /nonexistent/mapping.json: ");
  });

  it("runs from the main CLI", async () => {
    const { io, text } = capture();

    expect(await runCli(["routes"], io)).toBe(2);
    expect(text.err).toContain("routes needs the subcommand check or explain");
  });
});

describe("routes explain", () => {
  it("shows why each alert went where it did", async () => {
    const { io, text } = capture();

    const code = await routesCommand(
      ["explain", "--source", "alertmanager", "--routes", "test/fixtures/routing/routes.yaml", "--received-at", "2024-05-14T08:10:00Z", "test/fixtures/payloads/alertmanager-resolved.json"],
      io,
      {},
    );

    expect(code).toBe(0);
    expect(text.out).toBe(
      [
        "rules from test/fixtures/routing/routes.yaml; 1 alert in test/fixtures/payloads/alertmanager-resolved.json",
        "",
        'alert 1 of 1: alertmanager 5b0f5b2d5f635dca (resolved, Fatal) "SSH auth failures high on bastion-01.example.com"',
        "  rules[0] drop-watchdog: not matched",
        "      status is resolved; the rule takes firing alerts",
        "  rules[1] secops-critical: not matched",
        "      status is resolved; the rule takes firing alerts",
        "  rules[2] edge-clusters: not matched",
        "      status is resolved; the rule takes firing alerts",
        "  rules[3] close-resolved: matched",
        "      status is resolved",
        '      source is "alertmanager", matching "alertmanager"',
        "  => starts workflow aaaaaaaa-0000-4000-8000-000000000004 in workspace 11111111-2222-4333-8444-555555555555 of project 0000000000000000000000000000e001 (rule close-resolved)",
        "",
      ].join("\n"),
    );
  });

  it("uses the default target without a routing file", async () => {
    const { io, text } = capture();

    const code = await routesCommand(["explain", "--source", "alertmanager", "test/fixtures/payloads/alertmanager-firing-unicode.json"], io, {
      SECMASTER_WORKFLOW_ID: "ffffffff-0000-4000-8000-000000000001",
    });

    expect(code).toBe(0);
    expect(text.out).toMatch(/^no routing file, every alert to the SECMASTER_\* default target; /);
    expect(text.out).toContain(
      "=> starts workflow ffffffff-0000-4000-8000-000000000001 in workspace 00000000-0000-4000-8000-00000000a001 of project 0000000000000000000000000000e001 (default)",
    );
  });

  it("names the rule that stopped evaluation", async () => {
    const { io, text } = capture();

    const code = await routesCommand(
      ["explain", "--source", "alertmanager", "--routes", "test/fixtures/routing/routes.yaml", "--received-at", "2024-05-14T08:10:00Z", "test/fixtures/payloads/alertmanager-firing-group.json"],
      io,
      {},
    );

    expect(code).toBe(0);
    expect(text.out).toContain("  rules[1] secops-critical: matched (stop)\n");
    expect(text.out).toContain('  rules[2] edge-clusters: not evaluated\n      rule "secops-critical" matched and has stop: true\n');
    expect(text.out).toContain('  rules[3] close-resolved: not evaluated\n      rule "secops-critical" matched and has stop: true\n');
    expect(text.out).not.toContain("stopped matching");
  });

  it("names each workflow's project", async () => {
    const { io, text } = capture();

    const code = await routesCommand(["explain", "--source", "alertmanager", "test/fixtures/payloads/alertmanager-firing-unicode.json"], io, {
      SECMASTER_PROJECT_ID: "0123456789abcdef0123456789abcdef",
      SECMASTER_WORKFLOW_ID: "ffffffff-0000-4000-8000-000000000001",
    });

    expect(code).toBe(0);
    expect(text.out).toContain("in workspace 00000000-0000-4000-8000-00000000a001 of project 0123456789abcdef0123456789abcdef (default)");
  });

  it("needs a source and a file", async () => {
    const { io, text } = capture();

    expect(await routesCommand(["explain", "test/fixtures/payloads/alertmanager-resolved.json"], io, {})).toBe(2);
    expect(text.err).toBe("routes explain needs --source SOURCE and a delivery FILE\n");
  });
});
