import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadConfig } from "../../lib/config";
import { packageStack, readZipEntry, zipEntryNames, type PackagedStack } from "../helpers/package-stack";

const PARAMS = {
  routesFile: "test/fixtures/routing/routes.yaml",
  schedulesFile: "test/fixtures/schedule/schedules.yaml",
  senders: "alertmanager,grafana,splunk",
  grafanaTimestampHeader: "X-Grafana-Alerting-Timestamp",
  secmasterProjectId: "0000000000000000000000000000e001",
  secmasterWorkspaceId: "11111111-2222-4333-8444-555555555555",
  secmasterWorkflowId: "00000000-0000-4000-8000-00000000f001",
};

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

describe("packaged stack", () => {
  let stack: PackagedStack;
  let resources: PackagedStack["template"]["Resources"];

  const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
  const environmentOf = (logicalId: string) => resources[logicalId]!.Properties.Environment.Variables as Record<string, unknown>;

  beforeAll(async () => {
    stack = await packageStack(PARAMS);
    resources = stack.template.Resources;
  }, 240_000);
  afterAll(() => {
    rmSync(stack.dir, { recursive: true, force: true });
  });

  it("idempotency table keys on id with TTL and recovery", () => {
    const table = resources.IdempotencyTable!.Properties;

    expect(table.TableName).toBe("secmaster-bridge-ci-idempotency");
    expect(table.BillingMode).toBe("PAY_PER_REQUEST");
    expect(table.KeySchema).toEqual([{ AttributeName: "id", KeyType: "HASH" }]);
    expect(table.AttributeDefinitions).toEqual([{ AttributeName: "id", AttributeType: "S" }]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: "expiration", Enabled: true });
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it("jobs queue redrives to the dead-letter queue", () => {
    const queue = resources.JobsQueue!.Properties;

    expect(queue.QueueName).toBe("secmaster-bridge-ci-jobs");
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { "Fn::GetAtt": ["DeadLetterQueue", "Arn"] }, maxReceiveCount: 5 });
    expect(resources.DeadLetterQueue!.Properties.QueueName).toBe("secmaster-bridge-ci-dead-letters");
  });

  it("dispatch reads the queue with partial batch responses", () => {
    const mappings = ofType("AWS::Lambda::EventSourceMapping");

    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]![1].Properties;
    expect(mapping.EventSourceArn).toEqual({ "Fn::GetAtt": ["JobsQueue", "Arn"] });
    expect(mapping.FunctionName).toEqual({ "Fn::GetAtt": ["DispatchLambdaFunction", "Arn"] });
    expect(mapping.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
  });

  it("functions run on arm64 with log retention", () => {
    const functions = ofType("AWS::Lambda::Function");

    expect(functions.map(([id]) => id).sort()).toEqual(["DispatchLambdaFunction", "EventsLambdaFunction", "IngestLambdaFunction", "ScheduleLambdaFunction"]);
    for (const [id, resource] of functions) {
      expect(resource.Properties.Architectures, id).toEqual(["arm64"]);
      expect(resource.Properties.FunctionName, id).toMatch(/^secmaster-bridge-ci-/);
    }
    for (const [id, group] of ofType("AWS::Logs::LogGroup")) expect(group.Properties.RetentionInDays, id).toBe(30);
  });

  it("each function is bundled alone", () => {
    const expected: Record<string, string[]> = {
      ingest: ["functions/ingest.mjs", "functions/ingest.mjs.map", ".build/config/routes.json"],
      events: ["functions/events.mjs", "functions/events.mjs.map", ".build/config/routes.json"],
      dispatch: ["functions/dispatch.mjs", "functions/dispatch.mjs.map"],
      schedule: ["functions/schedule.mjs", "functions/schedule.mjs.map", ".build/config/schedules.json"],
    };
    for (const [name, files] of Object.entries(expected)) {
      expect(zipEntryNames(join(stack.dir, `${name}.zip`)).sort(), name).toEqual(files.sort());
    }
  });

  it.each([
    ["IngestLambdaFunction", "ingest.zip", "BRIDGE_ROUTES_FILE", PARAMS.routesFile],
    ["EventsLambdaFunction", "events.zip", "BRIDGE_ROUTES_FILE", PARAMS.routesFile],
    ["ScheduleLambdaFunction", "schedule.zip", "BRIDGE_SCHEDULES_FILE", PARAMS.schedulesFile],
  ])("%s reads a packaged JSON copy of the YAML file", (logicalId, zip, variable, yamlFile) => {
    const path = environmentOf(logicalId)[variable] as string;

    expect(path).toMatch(/\.json$/);
    expect(zipEntryNames(join(stack.dir, zip))).toContain(path);
    expect(JSON.parse(readZipEntry(join(stack.dir, zip), path))).toEqual(parseYaml(readFileSync(yamlFile, "utf8")));
  });

  it("schedules copy keeps the schedules' content", () => {
    const copy = JSON.parse(readZipEntry(join(stack.dir, "schedule.zip"), ".build/config/schedules.json"));

    expect(copy.schedules.map((schedule: { name: string }) => schedule.name)).toEqual(["nightly-posture", "hourly-sweep", "paused"]);
    expect(copy.schedules[0].alert.title).toBe("Nightly posture review {{scheduled_date}}");
  });

  it("IAM grants exact actions on exact resources", () => {
    // osls writes a statement of its own with a single action and resource as plain values.
    const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
    const statements = (resources.IamRoleLambdaExecution!.Properties.Policies[0].PolicyDocument.Statement as Statement[]).map((statement) => ({
      ...statement,
      Action: asList(statement.Action),
      Resource: asList(statement.Resource),
    }));

    for (const statement of statements) {
      expect(statement.Effect).toBe("Allow");
      for (const action of statement.Action) expect(action, JSON.stringify(statement)).not.toContain("*");
      for (const resource of statement.Resource) {
        expect(resource, JSON.stringify(statement)).not.toBe("*");
        const text = JSON.stringify(resource);
        // osls writes the log statements with a wildcard for the log streams, whose names Lambda
        // chooses at run time; every other resource is named exactly.
        if (statement.Action.every((action) => action.startsWith("logs:"))) {
          expect(text).toContain("log-group:/aws/lambda/secmaster-bridge-ci");
        } else {
          expect(text, JSON.stringify(statement)).not.toContain("*");
        }
      }
    }
    const byAction = (action: string) => statements.filter((statement) => statement.Action.includes(action)).flatMap((statement) => statement.Resource);
    expect(byAction("dynamodb:PutItem")).toEqual([{ "Fn::GetAtt": ["IdempotencyTable", "Arn"] }]);
    expect(byAction("ssm:GetParameters")).toEqual(
      ["secmaster/ak", "secmaster/sk", "auth/alertmanager", "auth/grafana", "auth/splunk"].map((name) => ({
        "Fn::Sub": `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/secmaster-bridge/ci/${name}`,
      })),
    );
    expect(byAction("ssm:GetParameter")).toEqual([
      { "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/secmaster-bridge/ci/routes" },
    ]);
    // osls adds one more dead-letter queue entry for each on-failure destination: the events and schedule functions'.
    expect(byAction("sqs:SendMessage")).toEqual([
      { "Fn::GetAtt": ["JobsQueue", "Arn"] },
      { "Fn::GetAtt": ["DeadLetterQueue", "Arn"] },
      { "Fn::GetAtt": ["DeadLetterQueue", "Arn"] },
      { "Fn::GetAtt": ["DeadLetterQueue", "Arn"] },
    ]);
  });

  it("environment holds references, never secret values", () => {
    for (const [id] of ofType("AWS::Lambda::Function")) {
      for (const [name, value] of Object.entries(environmentOf(id))) {
        if (/(^SECMASTER_(AK|SK|SECURITY_TOKEN|AUTH_TOKEN)$)|_SECRETS$|PASSWORD|PRIVATE/.test(name)) {
          expect(value, `${id} ${name}`).toMatch(/^(ssm|secretsmanager):\//);
        }
      }
    }
    expect(environmentOf("IngestLambdaFunction")).toMatchObject({
      SECMASTER_AK: "ssm:/secmaster-bridge/ci/secmaster/ak",
      SECMASTER_SK: "ssm:/secmaster-bridge/ci/secmaster/sk",
      BRIDGE_AUTH_ALERTMANAGER: "bearer",
      BRIDGE_AUTH_ALERTMANAGER_SECRETS: "ssm:/secmaster-bridge/ci/auth/alertmanager",
      BRIDGE_AUTH_GRAFANA: "grafana-hmac",
      BRIDGE_AUTH_GRAFANA_TIMESTAMP_HEADER: "X-Grafana-Alerting-Timestamp",
      BRIDGE_AUTH_SPLUNK: "path-token",
      BRIDGE_ROUTES_FILE: ".build/config/routes.json",
    });
  });

  it("ingest environment is a valid configuration", () => {
    const env: Record<string, string> = { AWS_LAMBDA_FUNCTION_NAME: "secmaster-bridge-ci-ingest" };
    for (const [name, value] of Object.entries(environmentOf("IngestLambdaFunction"))) {
      // Queue URLs are CloudFormation references until deploy time.
      env[name] = typeof value === "string" ? value : `https://sqs.ap-southeast-1.amazonaws.com/000000000000/${name.toLowerCase()}`;
    }

    const config = loadConfig(env);

    expect(config.routing.file).toBe(".build/config/routes.json");
    expect(config.secmaster.workflowId).toBe("00000000-0000-4000-8000-00000000f001");
    expect(Object.keys(config.auth.sources).sort()).toEqual(["ALERTMANAGER", "GRAFANA", "SPLUNK"]);
    expect(config.auth.sources.GRAFANA!.hmac!.timestampHeader).toBe("X-Grafana-Alerting-Timestamp");
  });

  it("outputs name the queues the CLI reads", () => {
    const outputs = stack.template.Outputs!;

    expect(outputs.IngestUrl.Value).toEqual({ "Fn::Join": ["", [{ "Fn::GetAtt": ["HttpApi", "ApiEndpoint"] }, "/v1/alerts/{source}"]] });
    expect(outputs.OperationsTopicArn.Value).toEqual({ Ref: "OperationsTopic" });
    expect(outputs.JobsQueueUrl.Value).toEqual({ Ref: "JobsQueue" });
    expect(outputs.DeadLetterQueueUrl.Value).toEqual({ Ref: "DeadLetterQueue" });
  });

  it("schedule function environment is a valid configuration", () => {
    const env: Record<string, string> = { AWS_LAMBDA_FUNCTION_NAME: "secmaster-bridge-ci-schedule" };
    for (const [name, value] of Object.entries(environmentOf("ScheduleLambdaFunction"))) {
      env[name] = typeof value === "string" ? value : `https://sqs.ap-southeast-1.amazonaws.com/000000000000/${name.toLowerCase()}`;
    }

    const config = loadConfig(env);

    expect(config.schedulesFile).toBe(".build/config/schedules.json");
    // Queue mode: scheduled runs go to the jobs queue, under the role that may send to it.
    expect(config.delivery.mode).toBe("queue");
    expect(environmentOf("ScheduleLambdaFunction").BRIDGE_QUEUE_URL).toEqual({ Ref: "JobsQueue" });
    expect(resources.ScheduleLambdaFunction!.Properties.Role).toEqual({ "Fn::GetAtt": ["IamRoleLambdaExecution", "Arn"] });
  });

  it("one EventBridge rule per schedule", () => {
    const rules = ofType("AWS::Events::Rule")
      .map(([, rule]) => rule.Properties)
      .filter((rule) => rule.ScheduleExpression !== undefined);

    expect(rules.map((rule) => [rule.Name, rule.ScheduleExpression, rule.State])).toEqual([
      ["secmaster-bridge-ci-nightly-posture", "cron(0 18 * * ? *)", "ENABLED"],
      ["secmaster-bridge-ci-hourly-sweep", "rate(1 hour)", "ENABLED"],
      ["secmaster-bridge-ci-paused", "rate(5 minutes)", "DISABLED"],
    ]);
    const target = rules[0].Targets[0];
    expect(target.Arn).toEqual({ "Fn::GetAtt": ["ScheduleLambdaFunction", "Arn"] });
    expect(target.InputTransformer).toEqual({
      InputPathsMap: { time: "$.time", eventId: "$.id" },
      InputTemplate: '{"schedule":"nightly-posture","time":<time>,"event_id":<eventId>}',
    });
    expect(resources.ScheduleLambdaEvConf!.Properties.MaximumRetryAttempts).toBe(2);
    expect(stack.template.Outputs!.Schedules.Value).toBe("nightly-posture,hourly-sweep,paused");
  });

  it("sends failed schedule events to the dead-letter queue", () => {
    expect(resources.ScheduleLambdaEvConf!.Properties.DestinationConfig).toEqual({ OnFailure: { Destination: { "Fn::GetAtt": ["DeadLetterQueue", "Arn"] } } });
  });

  it("CloudWatch rule leaves out the stack's own alarms", () => {
    const patterns = ofType("AWS::Events::Rule")
      .map(([, rule]) => rule.Properties.EventPattern as Record<string, unknown> | undefined)
      .filter((pattern) => (pattern?.source as string[] | undefined)?.includes("aws.cloudwatch"));
    const alarmNames = ofType("AWS::CloudWatch::Alarm").map(([, alarm]) => alarm.Properties.AlarmName as string);

    expect(patterns).toHaveLength(1);
    expect(patterns[0]!.source).toEqual(["aws.cloudwatch"]);
    expect(patterns[0]!["detail-type"]).toEqual(["CloudWatch Alarm State Change"]);
    const excluded = (patterns[0]!.detail as { alarmName: [{ "anything-but": string[] }] }).alarmName[0]["anything-but"];
    // Every alarm of the stack, and nothing else, so a new alarm must be added to the rule too.
    expect([...excluded].sort()).toEqual([...alarmNames].sort());
    expect(excluded).toContain("secmaster-bridge-ci-dead-letters");
  });

  it("sends failed AWS events to the dead-letter queue", () => {
    const invokeConfig = resources.EventsLambdaEvConf!.Properties;

    expect(invokeConfig.MaximumRetryAttempts).toBe(2);
    expect(invokeConfig.DestinationConfig).toEqual({ OnFailure: { Destination: { "Fn::GetAtt": ["DeadLetterQueue", "Arn"] } } });
  });

  it("alarms watch dead letters, errors and throttles", () => {
    const alarms = Object.fromEntries(ofType("AWS::CloudWatch::Alarm").map(([id, alarm]) => [id, alarm.Properties]));

    expect(alarms.DeadLetterDepthAlarm).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": ["DeadLetterQueue", "QueueName"] } }],
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
    });
    expect(alarms.DispatchErrorsAlarm).toMatchObject({ Namespace: "AWS/Lambda", MetricName: "Errors", Dimensions: [{ Name: "FunctionName", Value: { Ref: "DispatchLambdaFunction" } }] });
    expect(alarms.ScheduleErrorsAlarm).toMatchObject({ MetricName: "Errors", Dimensions: [{ Name: "FunctionName", Value: { Ref: "ScheduleLambdaFunction" } }] });
    expect(alarms.EventsErrorsAlarm).toMatchObject({ MetricName: "Errors", Dimensions: [{ Name: "FunctionName", Value: { Ref: "EventsLambdaFunction" } }] });
    expect(alarms.EventsDestinationFailuresAlarm).toMatchObject({
      MetricName: "DestinationDeliveryFailures",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: "EventsLambdaFunction" } }],
    });
    expect(alarms.ScheduleDestinationFailuresAlarm).toMatchObject({
      MetricName: "DestinationDeliveryFailures",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: "ScheduleLambdaFunction" } }],
    });
    expect(alarms.IngestThrottlesAlarm).toMatchObject({ MetricName: "Throttles", Dimensions: [{ Name: "FunctionName", Value: { Ref: "IngestLambdaFunction" } }] });
    expect(alarms.DispatchThrottlesAlarm).toMatchObject({ MetricName: "Throttles", Dimensions: [{ Name: "FunctionName", Value: { Ref: "DispatchLambdaFunction" } }] });
    for (const [id, alarm] of Object.entries(alarms)) expect(alarm.AlarmActions, id).toEqual([{ Ref: "OperationsTopic" }]);
  });

  it("HTTP route is throttled", () => {
    const stage = resources.HttpApiStage!.Properties;

    expect(stage.RouteSettings).toEqual({ "POST /v1/alerts/{source}": { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } });
    expect(stage.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    expect(ofType("AWS::ApiGatewayV2::Route").map(([, route]) => route.Properties.RouteKey)).toEqual(["POST /v1/alerts/{source}"]);
  });
});
