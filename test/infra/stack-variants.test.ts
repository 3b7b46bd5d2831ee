import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/config";
import { packageStack, zipEntryNames, type PackagedStack } from "../helpers/package-stack";

/** Output of a packaging run that failed, or undefined when it succeeded. */
async function packagingFailure(params: Record<string, string>): Promise<string | undefined> {
  try {
    const stack = await packageStack(params);
    rmSync(stack.dir, { recursive: true, force: true });
    return undefined;
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    return `${stdout}\n${stderr}`;
  }
}

describe("packaged stack variants", () => {
  let ssmStack: PackagedStack;
  let brokenRoutes: string | undefined;
  let unknownSender: string | undefined;
  let timestampWithoutGrafana: string | undefined;

  beforeAll(async () => {
    [ssmStack, brokenRoutes, unknownSender, timestampWithoutGrafana] = await Promise.all([
      packageStack({ routesSource: "ssm", senders: "alertmanager,cloudwatch", snsTopics: "arn:aws:sns:ap-southeast-1:000000000000:alarms" }),
      packagingFailure({ routesFile: "test/fixtures/infra/broken-routes.yaml" }),
      packagingFailure({ senders: "alertmanager,pagerduty" }),
      packagingFailure({ senders: "alertmanager", grafanaTimestampHeader: "X-Grafana-Alerting-Timestamp" }),
    ]);
  }, 240_000);
  afterAll(() => {
    rmSync(ssmStack.dir, { recursive: true, force: true });
  });

  it("routes from SSM ship no routing file", () => {
    const environment = ssmStack.template.Resources.IngestLambdaFunction!.Properties.Environment.Variables as Record<string, string>;

    expect(environment.BRIDGE_ROUTES_SSM_PARAMETER).toBe("/secmaster-bridge/ci/routes");
    expect(environment.BRIDGE_ROUTES_FILE).toBeUndefined();
    expect(zipEntryNames(join(ssmStack.dir, "ingest.zip")).sort()).toEqual(["functions/ingest.mjs", "functions/ingest.mjs.map"]);
  });

  it("SNS sender checks topics, not a secret", () => {
    const environment = ssmStack.template.Resources.IngestLambdaFunction!.Properties.Environment.Variables as Record<string, string>;

    expect(environment.BRIDGE_AUTH_CLOUDWATCH).toBe("sns");
    expect(environment.BRIDGE_AUTH_CLOUDWATCH_TOPICS).toBe("arn:aws:sns:ap-southeast-1:000000000000:alarms");
    expect(environment.BRIDGE_AUTH_CLOUDWATCH_AUTO_CONFIRM).toBe("true");
    expect(environment.BRIDGE_AUTH_CLOUDWATCH_SECRETS).toBeUndefined();
  });

  it("no schedules, no schedule rules", () => {
    const rules = Object.values(ssmStack.template.Resources).filter((resource) => resource.Type === "AWS::Events::Rule" && resource.Properties.ScheduleExpression !== undefined);

    expect(rules).toEqual([]);
    expect(ssmStack.template.Outputs!.Schedules.Value).toBe("none");
  });

  it("invalid routing file stops packaging", () => {
    expect(brokenRoutes).toContain("routing file test/fixtures/infra/broken-routes.yaml is invalid");
    expect(brokenRoutes).toContain('rules[0] (name "typo"): match.min_severity');
  });

  it("SNS sender environment is a valid configuration", () => {
    const env: Record<string, string> = { AWS_LAMBDA_FUNCTION_NAME: "secmaster-bridge-ci-ingest", SECMASTER_PROJECT_ID: "p", SECMASTER_WORKSPACE_ID: "w", SECMASTER_WORKFLOW_ID: "f" };
    for (const [name, value] of Object.entries(ssmStack.template.Resources.IngestLambdaFunction!.Properties.Environment.Variables as Record<string, unknown>)) {
      if (typeof value === "string" && value !== "") env[name] = value;
      else if (typeof value !== "string") env[name] = `https://sqs.ap-southeast-1.amazonaws.com/000000000000/${name.toLowerCase()}`;
    }

    const config = loadConfig(env);

    expect(config.routing.ssmParameter).toBe("/secmaster-bridge/ci/routes");
    expect(config.auth.sources.CLOUDWATCH!.autoConfirm).toBe(true);
  });

  it("unknown sender stops packaging", () => {
    expect(unknownSender).toContain("param senders: unknown sender pagerduty");
  });

  it("Grafana timestamp header needs the grafana sender", () => {
    expect(timestampWithoutGrafana).toContain("param grafanaTimestampHeader: applies only to the grafana sender");
  });
});
