// Parts of serverless.yml that derive from the routing and schedules files, so that each file is
// declared once and validated with the bridge's own code before anything is packaged.
//
// serverless.yml reads them as ${file(./infra/stack.cjs):NAME}; osls calls this function with its
// variable resolver and then takes the NAME property of the result.
"use strict";

const path = require("node:path");

/** EventBridge rule names are at most 64 characters of letters, digits, '.', '-' and '_'. */
const MAX_RULE_NAME_LENGTH = 64;

/**
 * Inbound authentication of each HTTP sender the stack can enable, with the scheme its product
 * supports (see docs/auth.md). The secret of each lives in SSM at {ssmPath}/auth/{source}; the
 * SNS and SMN schemes check signatures instead and need the allowed topics.
 */
const SENDER_SCHEMES = {
  alertmanager: "bearer",
  grafana: "grafana-hmac",
  splunk: "path-token",
  elastic: "bearer",
  sentinel: "bearer",
  datadog: "bearer",
  wazuh: "bearer",
  cloudwatch: "sns",
  "huaweicloud-ces": "smn",
};

/** An HTTP header name (RFC 9110 token), as BRIDGE_AUTH_<SOURCE>_TIMESTAMP_HEADER requires. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Loads a TypeScript module of the bridge through tsx, which the repository uses for its scripts. */
async function importBridgeModule(relativePath) {
  const { tsImport } = await import("tsx/esm/api");
  return tsImport(relativePath, __filename);
}

/** Formats the ConfigError of a routing or schedules file as a packaging error. */
function describeIssues(error) {
  if (Array.isArray(error?.issues)) return `${error.message.split("\n")[0]}\n  - ${error.issues.join("\n  - ")}`;
  return String(error);
}

module.exports = async ({ resolveVariable }) => {
  const serviceDir = path.resolve(__dirname, "..");
  const prefix = await resolveVariable("param:prefix");
  const ssmPath = await resolveVariable("param:ssmPath");
  const routesSource = await resolveVariable("param:routesSource");
  const routesFile = await resolveVariable("param:routesFile");
  const schedulesFile = await resolveVariable("param:schedulesFile");
  const workflowId = await resolveVariable("param:secmasterWorkflowId");
  const senders = String(await resolveVariable("param:senders"))
    .split(",")
    .map((sender) => sender.trim())
    .filter((sender) => sender !== "");
  const topics = { sns: await resolveVariable("param:snsTopics"), smn: await resolveVariable("param:smnTopics") };
  const grafanaTimestampHeader = String(await resolveVariable("param:grafanaTimestampHeader")).trim();

  if (routesSource !== "file" && routesSource !== "ssm") {
    throw new Error(`param routesSource must be file or ssm, not ${JSON.stringify(routesSource)}`);
  }
  const { readRoutingFile } = await importBridgeModule("../lib/routing/load.ts");
  const { readSchedulesFile } = await importBridgeModule("../lib/schedule/load.ts");

  // Packaging uses the default target only to check that resolve workflows receive no firing
  // alerts. The real ids come from the SecMaster parameters at run time.
  const defaultTarget = { projectId: "packaging", workspaceId: "packaging", workflowId: workflowId || "packaging", dataclass: { name: "Alert" } };
  if (routesSource === "file") {
    try {
      readRoutingFile(path.resolve(serviceDir, routesFile), defaultTarget);
    } catch (error) {
      throw new Error(`routing file ${routesFile} is invalid: ${describeIssues(error)}`, { cause: error });
    }
  }

  let schedules;
  try {
    schedules = readSchedulesFile(path.resolve(serviceDir, schedulesFile));
  } catch (error) {
    throw new Error(`schedules file ${schedulesFile} is invalid: ${describeIssues(error)}`, { cause: error });
  }

  const scheduleEvents = schedules.map((schedule) => {
    const ruleName = `${prefix}-${schedule.name}`;
    if (ruleName.length > MAX_RULE_NAME_LENGTH) {
      throw new Error(`EventBridge rule name ${ruleName} is longer than ${MAX_RULE_NAME_LENGTH} characters; shorten the schedule name or the stage`);
    }
    return {
      schedule: {
        name: ruleName,
        description: schedule.description ?? `secmaster-bridge schedule ${schedule.name}`,
        rate: [schedule.expression.text],
        enabled: schedule.enabled,
        // The function needs the schedule's name and the event's time; the id of the event is
        // kept for logs. Schedule names are [a-z0-9-], so they need no JSON escaping.
        inputTransformer: {
          inputPathsMap: { time: "$.time", eventId: "$.id" },
          inputTemplate: `{"schedule":"${schedule.name}","time":<time>,"event_id":<eventId>}`,
        },
      },
    };
  });

  // Inbound authentication of the enabled senders, and the SSM parameters their secrets live in.
  const authEnvironment = {};
  const secretParameters = ["secmaster/ak", "secmaster/sk"];
  for (const sender of senders) {
    const scheme = SENDER_SCHEMES[sender];
    if (scheme === undefined) {
      throw new Error(`param senders: unknown sender ${sender}; use any of ${Object.keys(SENDER_SCHEMES).join(", ")}`);
    }
    const key = `BRIDGE_AUTH_${sender.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
    authEnvironment[key] = scheme;
    if (scheme === "sns" || scheme === "smn") {
      if (!topics[scheme]) throw new Error(`param ${scheme}Topics: the ${sender} sender needs the allowed ${scheme.toUpperCase()} topics, comma-separated`);
      authEnvironment[`${key}_TOPICS`] = topics[scheme];
      // The bridge confirms the HTTPS subscription itself, after checking the message's signature.
      authEnvironment[`${key}_AUTO_CONFIRM`] = "true";
    } else {
      authEnvironment[`${key}_SECRETS`] = `ssm:${ssmPath}/auth/${sender}`;
      secretParameters.push(`auth/${sender}`);
    }
  }
  if (grafanaTimestampHeader !== "") {
    if (!senders.includes("grafana")) throw new Error("param grafanaTimestampHeader: applies only to the grafana sender; add grafana to param senders or leave it empty");
    if (!HEADER_NAME.test(grafanaTimestampHeader)) throw new Error(`param grafanaTimestampHeader: ${JSON.stringify(grafanaTimestampHeader)} is not an HTTP header name; use the header name set in the Grafana contact point, such as X-Grafana-Alerting-Timestamp`);
    authEnvironment.BRIDGE_AUTH_GRAFANA_TIMESTAMP_HEADER = grafanaTimestampHeader;
  }
  const parameterArn = (name) => ({ "Fn::Sub": `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${ssmPath}/${name}` });
  const routingEnvironment =
    routesSource === "file" ? { BRIDGE_ROUTES_FILE: routesFile } : { BRIDGE_ROUTES_SSM_PARAMETER: `${ssmPath}/routes` };

  return {
    /** Environment of the ingest function: routing and inbound authentication. */
    ingestEnvironment: { ...routingEnvironment, ...authEnvironment },
    /** ARNs of the SSM parameters that hold secrets, read with ssm:GetParameters by @middy/ssm. */
    secretParameterArns: secretParameters.map(parameterArn),
    /** Environment of the functions that route alerts. */
    routingEnvironment,
    /** Files packaged with the functions that route alerts. */
    routingPatterns: routesSource === "file" ? [routesFile] : [],
    scheduleEvents,
    /** Names of the schedules, for the outputs of the stack. */
    scheduleNames: schedules.map((schedule) => schedule.name).join(",") || "none",
  };
};
