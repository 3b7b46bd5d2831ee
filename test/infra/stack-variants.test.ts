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

// A packaging run that succeeds builds every function with esbuild, so this file runs only two:
// one that succeeds and one with several problems. stack-checks.test.ts calls the stack function
// that osls uses for every other problem.
describe("packaged stack variants", () => {
  let ssmStack: PackagedStack;
  let broken: string | undefined;

  beforeAll(async () => {
    [ssmStack, broken] = await Promise.all([
      packageStack({ routesSource: "ssm", senders: "alertmanager,cloudwatch", snsTopics: "arn:aws:sns:ap-southeast-1:000000000000:alarms" }),
      // osls trims the end of a --param value, so "secmasterProjectId= " leaves the id empty, as
      // on a stage whose params set no ids.
      packagingFailure({ secmasterProjectId: " ", secmasterWorkflowId: "wf/01", routesFile: "test/fixtures/infra/broken-routes.yaml" }),
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

  it("packaging lists every problem of the stage", () => {
    expect(broken).toContain("packaging stopped: 3 problems in the params or files of the stage\n");
    expect(broken).toContain(
      '    * param secmasterProjectId is empty; pass the project id of the SecMaster region as --param="secmasterProjectId=PROJECT_ID", or set it under params.STAGE in serverless.yml\n',
    );
    expect(broken).toContain(
      `    * param secmasterWorkflowId "wf/01" is invalid: must be 1 to 128 letters, digits, '-', '_', '.' or '~', not starting with '.'; pass the workflow that receives alerts no route claims as --param="secmasterWorkflowId=WORKFLOW_ID"`,
    );
    expect(broken).toContain("    * routing file test/fixtures/infra/broken-routes.yaml (param routesFile) is invalid:\n");
    expect(broken).toMatch(/ {6}- \S+\/test\/fixtures\/infra\/broken-routes\.yaml: rules\[0\] \(name "typo"\): match\.min_severity: Invalid option/);
  });

  it("packaging error shows no stack trace", () => {
    expect(broken).not.toContain("at module.exports");
  });

  it("SNS sender environment is a valid configuration", () => {
    const env: Record<string, string> = { AWS_LAMBDA_FUNCTION_NAME: "secmaster-bridge-ci-ingest" };
    for (const [name, value] of Object.entries(ssmStack.template.Resources.IngestLambdaFunction!.Properties.Environment.Variables as Record<string, unknown>)) {
      if (typeof value === "string" && value !== "") env[name] = value;
      else if (typeof value !== "string") env[name] = `https://sqs.ap-southeast-1.amazonaws.com/000000000000/${name.toLowerCase()}`;
    }

    const config = loadConfig(env);

    expect(config.routing.ssmParameter).toBe("/secmaster-bridge/ci/routes");
    expect(config.auth.sources.CLOUDWATCH!.autoConfirm).toBe(true);
  });

  it("stage ci packages with its fictional ids", () => {
    const environment = ssmStack.template.Resources.IngestLambdaFunction!.Properties.Environment.Variables as Record<string, unknown>;

    expect(environment.SECMASTER_PROJECT_ID).toBe("0000000000000000000000000000c001");
    expect(environment.SECMASTER_WORKSPACE_ID).toBe("00000000-0000-4000-8000-0000000000c1");
    expect(environment.SECMASTER_WORKFLOW_ID).toBe("00000000-0000-4000-8000-0000000000c2");
  });
});
