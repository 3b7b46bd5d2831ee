import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// The function osls calls for every ${file(./infra/stack.cjs):NAME} of serverless.yml. Calling it
// directly checks each packaging problem in milliseconds; stack-variants.test.ts shows through a
// real `osls package` run that osls prints the same message.
type StackFunction = (context: { resolveVariable: (variable: string) => Promise<unknown>; outputDir?: string }) => Promise<Record<string, unknown>>;
const buildStack = createRequire(import.meta.url)("../../infra/stack.cjs") as StackFunction;

/** The params of stage ci as osls resolves them from serverless.yml. */
const CI_PARAMS: Record<string, string> = {
  prefix: "secmaster-bridge-ci",
  ssmPath: "/secmaster-bridge/ci",
  routesSource: "file",
  routesFile: "config/routes.yaml",
  schedulesFile: "config/schedules.yaml",
  senders: "alertmanager",
  snsTopics: "",
  smnTopics: "",
  grafanaTimestampHeader: "",
  secmasterProjectId: "0000000000000000000000000000c001",
  secmasterWorkspaceId: "00000000-0000-4000-8000-0000000000c1",
  secmasterWorkflowId: "00000000-0000-4000-8000-0000000000c2",
  secmasterDataclassName: "Alert",
  logLevel: "INFO",
  maxReceives: "5",
  secmasterRegion: "cn-north-4",
};

const dir = mkdtempSync(join(tmpdir(), "stack-checks-"));
// The JSON copies the stack function writes, away from the service folder.
const copiesDir = join(dir, "service");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Calls the stack function with the ci params and `overrides`, as osls would. */
function stackWith(overrides: Record<string, string>): Promise<Record<string, unknown>> {
  const params = { ...CI_PARAMS, ...overrides };
  return buildStack({
    outputDir: copiesDir,
    resolveVariable: (variable) => {
      const name = variable.replace(/^param:/, "");
      if (!variable.startsWith("param:") || !(name in params)) return Promise.reject(new Error(`unexpected variable ${variable}`));
      return Promise.resolve(params[name]);
    },
  });
}

/** Message of the error that stops packaging. */
async function packagingError(overrides: Record<string, string>): Promise<string> {
  try {
    await stackWith(overrides);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected packaging to stop");
}

const ID_FORMAT = "must be 1 to 128 letters, digits, '-', '_', '.' or '~', not starting with '.'";

describe("packaging checks", () => {
  it("valid ci params build the stack parts", async () => {
    const stack = await stackWith({});

    expect(stack.ingestEnvironment).toEqual({ BRIDGE_ROUTES_FILE: ".build/config/routes.json", BRIDGE_AUTH_ALERTMANAGER: "bearer", BRIDGE_AUTH_ALERTMANAGER_SECRETS: "ssm:/secmaster-bridge/ci/auth/alertmanager" });
    expect(stack.routingPatterns).toEqual([".build/config/routes.json"]);
    expect(stack.scheduleEnvironment).toEqual({ BRIDGE_SCHEDULES_FILE: ".build/config/schedules.json" });
    expect(stack.schedulePatterns).toEqual([".build/config/schedules.json"]);
    expect(stack.scheduleNames).toBe("none");
  });

  it("writes JSON copies of the YAML files", async () => {
    const routes = writeFile(
      "routes-with-anchor.yaml",
      `version: 1
rules:
  - name: secops
    match: { labels: { team: secops } }
    targets: &secops
      - { workspace_id: ws, workflow_id: wf-1 }
  - name: edge
    match: { labels: { cluster: edge } }
    targets: *secops
`,
    );
    const schedules = writeFile("schedules-copy.yaml", "version: 1\nschedules:\n  - name: hourly\n    expression: rate(1 hour)\n    alert: { severity: Low }\n");

    await stackWith({ routesFile: routes, schedulesFile: schedules });

    expect(JSON.parse(readFileSync(join(copiesDir, ".build/config/routes.json"), "utf8"))).toEqual({
      version: 1,
      rules: [
        { name: "secops", match: { labels: { team: "secops" } }, targets: [{ workspace_id: "ws", workflow_id: "wf-1" }] },
        { name: "edge", match: { labels: { cluster: "edge" } }, targets: [{ workspace_id: "ws", workflow_id: "wf-1" }] },
      ],
    });
    expect(JSON.parse(readFileSync(join(copiesDir, ".build/config/schedules.json"), "utf8"))).toEqual({
      version: 1,
      schedules: [{ name: "hourly", expression: "rate(1 hour)", alert: { severity: "Low" } }],
    });
  });

  it("value JSON cannot represent stops packaging", async () => {
    const routes = writeFile("routes-infinity.yaml", "version: 1\nrules:\n  - name: x\n    description: .inf\n    drop: true\n");

    const message = await packagingError({ routesFile: routes });

    expect(message).toContain(`routing file ${routes} (param routesFile) is invalid:\n      - ${routes}: contains a value JSON cannot represent, such as .inf or .nan, which the functions' JSON copy would lose; write it as a string or a finite number`);
  });

  it("empty project id stops packaging", async () => {
    const message = await packagingError({ secmasterProjectId: "" });

    expect(message).toBe(
      "packaging stopped: 1 problem in the params or files of the stage\n" +
        '    * param secmasterProjectId is empty; pass the project id of the SecMaster region as --param="secmasterProjectId=PROJECT_ID", or set it under params.STAGE in serverless.yml',
    );
  });

  it("blank workspace id counts as empty", async () => {
    const message = await packagingError({ secmasterWorkspaceId: "  " });

    expect(message).toContain('param secmasterWorkspaceId is empty; pass the SecMaster workspace of the default target as --param="secmasterWorkspaceId=WORKSPACE_ID"');
  });

  it("malformed workflow id stops packaging", async () => {
    const message = await packagingError({ secmasterWorkflowId: "wf/01" });

    expect(message).toBe(
      "packaging stopped: 1 problem in the params or files of the stage\n" +
        `    * param secmasterWorkflowId "wf/01" is invalid: ${ID_FORMAT}; pass the workflow that receives alerts no route claims as --param="secmasterWorkflowId=WORKFLOW_ID", or set it under params.STAGE in serverless.yml`,
    );
  });

  it("id starting with a dot is malformed", async () => {
    const message = await packagingError({ secmasterProjectId: ".0000c001" });

    expect(message).toContain(`param secmasterProjectId ".0000c001" is invalid: ${ID_FORMAT}`);
  });

  it("invalid routing file lists every rule's problems", async () => {
    const routes = writeFile(
      "routes-first-and-third.yaml",
      `rules:
  - name: first-broken
    match: { min_severity: Critical }
    targets:
      - { workspace_id: ws, workflow_id: wf-1 }
  - name: fine
    targets:
      - { workspace_id: ws, workflow_id: wf-2 }
  - name: fine
    targets:
      - { workspace_id: ws, workflow_id: "wf/3" }
`,
    );

    const message = await packagingError({ routesFile: routes });

    expect(message).toBe(
      "packaging stopped: 1 problem in the params or files of the stage\n" +
        `    * routing file ${routes} (param routesFile) is invalid:\n` +
        `      - ${routes}: rules[0] (name "first-broken"): match.min_severity: Invalid option: expected one of "Tips"|"Low"|"Medium"|"High"|"Fatal"\n` +
        `      - ${routes}: rules[2] (name "fine"): targets[0].workflow_id: ${ID_FORMAT}\n` +
        `      - ${routes}: rules[2] (name "fine"): name: duplicates the name of rules[1]; give every rule its own name`,
    );
  });

  it("resolve workflows are checked against the workflow id param", async () => {
    const routes = writeFile(
      "routes-resolve-default.yaml",
      "rules:\n  - name: close\n    match: { status: resolved }\n    targets:\n      - { workspace_id: ws, workflow_id: 00000000-0000-4000-8000-0000000000c2 }\n",
    );

    const message = await packagingError({ routesFile: routes });

    expect(message).toContain(
      `${routes}: rules[0] (name "close"): targets[0].workflow_id: workflow 00000000-0000-4000-8000-0000000000c2 also receives firing alerts from the SECMASTER_WORKFLOW_ID default`,
    );
  });

  it("missing routing file names the param", async () => {
    const missing = join(dir, "no-such-routes.yaml");

    const message = await packagingError({ routesFile: missing });

    expect(message).toContain(`routing file ${missing} (param routesFile) is invalid:\n      - param routesFile: cannot read ${missing}: ENOENT`);
  });

  it("routing file is not read from SSM at packaging", async () => {
    const stack = await stackWith({ routesSource: "ssm", routesFile: join(dir, "no-such-routes.yaml") });

    expect(stack.routingEnvironment).toEqual({ BRIDGE_ROUTES_SSM_PARAMETER: "/secmaster-bridge/ci/routes" });
  });

  it("invalid schedules file stops packaging", async () => {
    const schedules = writeFile("schedules.yaml", "schedules:\n  - name: nightly\n    expression: cron(0 18 * * *)\n    alert: {}\n");

    const message = await packagingError({ schedulesFile: schedules });

    expect(message).toBe(
      "packaging stopped: 1 problem in the params or files of the stage\n" +
        `    * schedules file ${schedules} (param schedulesFile) is invalid:\n` +
        `      - ${schedules}: schedules[0] (name "nightly"): expression: cron needs 6 fields (minutes hours day-of-month month day-of-week year), got 5`,
    );
  });

  it("GuardDuty and Security Hub senders take a bearer token", async () => {
    const stack = await stackWith({ senders: "guardduty,securityhub" });

    expect(stack.ingestEnvironment).toMatchObject({
      BRIDGE_AUTH_GUARDDUTY: "bearer",
      BRIDGE_AUTH_GUARDDUTY_SECRETS: "ssm:/secmaster-bridge/ci/auth/guardduty",
      BRIDGE_AUTH_SECURITYHUB: "bearer",
      BRIDGE_AUTH_SECURITYHUB_SECRETS: "ssm:/secmaster-bridge/ci/auth/securityhub",
    });
  });

  it("params the functions accept pass packaging", async () => {
    // The functions trim SECMASTER_REGION and read LOG_LEVEL in any letter case.
    const stack = await stackWith({ logLevel: "debug", maxReceives: "3", secmasterRegion: " cn-north-4 " });

    expect(stack.ingestEnvironment).toBeDefined();
  });

  it("params the functions reject stop packaging", async () => {
    const message = await packagingError({ logLevel: "verbose", maxReceives: "0", secmasterRegion: "mars-1" });
    const overSqsLimit = await packagingError({ maxReceives: "1001" });

    expect(message).toContain('param logLevel "verbose" is invalid: Invalid option: expected one of "TRACE"|');
    expect(message).toContain('param maxReceives "0" is invalid');
    expect(overSqsLimit).toContain('param maxReceives "1001" is over 1000, the maximum maxReceiveCount of an SQS redrive policy');
    expect(message).toContain('param secmasterRegion "mars-1" is not a SecMaster region; use one of ');
  });

  it("unknown sender stops packaging", async () => {
    expect(await packagingError({ senders: "alertmanager,pagerduty" })).toContain("param senders: unknown sender pagerduty; use any of alertmanager, grafana,");
  });

  it("Grafana timestamp header needs the grafana sender", async () => {
    expect(await packagingError({ grafanaTimestampHeader: "X-Grafana-Alerting-Timestamp" })).toContain(
      "param grafanaTimestampHeader: applies only to the grafana sender; add grafana to param senders or leave it empty",
    );
  });

  it("every problem is listed in one error", async () => {
    const message = await packagingError({
      secmasterProjectId: "",
      secmasterWorkflowId: "wf/01",
      routesFile: "test/fixtures/infra/broken-routes.yaml",
      senders: "alertmanager,pagerduty",
    });

    const lines = message.split("\n");
    expect(lines[0]).toBe("packaging stopped: 4 problems in the params or files of the stage");
    expect(lines.filter((line) => line.startsWith("    * ")).map((line) => line.split(/ is | unknown /)[0])).toEqual([
      "    * param secmasterProjectId",
      '    * param secmasterWorkflowId "wf/01"',
      "    * routing file test/fixtures/infra/broken-routes.yaml (param routesFile)",
      "    * param senders:",
    ]);
  });
});
