// Parts of serverless.yml that derive from the params and from the routing and schedules files, so
// that each file is declared once. Everything is validated with the bridge's own code before
// anything is built, so a wrong id or a broken rule stops `osls package` instead of a cold start.
//
// serverless.yml reads them as ${file(./infra/stack.cjs):NAME}; osls calls this function with its
// variable resolver and then takes the NAME property of the result.
"use strict";

const { randomUUID } = require("node:crypto");
const { mkdirSync, renameSync, writeFileSync } = require("node:fs");
const path = require("node:path");
const { isDeepStrictEqual } = require("node:util");

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
  // GuardDuty and Security Hub reach the HTTP endpoint through an EventBridge API destination,
  // whose API-key connection sends the token in a header. The events function needs no sender entry.
  guardduty: "bearer",
  securityhub: "bearer",
  cloudwatch: "sns",
  "huaweicloud-ces": "smn",
};

/** An HTTP header name (RFC 9110 token), as BRIDGE_AUTH_<SOURCE>_TIMESTAMP_HEADER requires. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * SecMaster ids the functions read from SECMASTER_* at cold start. lib/config.ts requires each to be
 * set. Their format is the one the SecMaster client sends unescaped in request paths, which
 * lib/routing/schema.ts exports as `secMasterIdSchema`.
 */
const SECMASTER_ID_PARAMS = [
  { param: "secmasterProjectId", meaning: "project id of the SecMaster region", placeholder: "PROJECT_ID" },
  { param: "secmasterWorkspaceId", meaning: "SecMaster workspace of the default target", placeholder: "WORKSPACE_ID" },
  { param: "secmasterWorkflowId", meaning: "workflow that receives alerts no route claims", placeholder: "WORKFLOW_ID" },
];

/**
 * Generated JSON copies of the routing and schedules files, relative to the service folder and
 * ignored by git. The functions read these, because they load no YAML parser at cold start.
 */
const ROUTES_COPY = ".build/config/routes.json";
const SCHEDULES_COPY = ".build/config/schedules.json";

// osls calls the exported function once per ${file(…)} reference; each module is loaded once.
const bridgeModules = new Map();
let bridgeImporter;

/**
 * Loads a TypeScript module of the bridge through tsx (a development dependency, which runs the
 * repository's scripts too). Importing the loaders themselves, not a copy of their rules or a CLI
 * run in a child process, keeps packaging and cold start on the same validation, and reports
 * every problem in the error osls prints. Every module is imported in one tsx namespace, so they
 * share one instance of each dependency, and the YAML parser that lib/routing/yaml.ts registers
 * is the one the loaders see.
 */
async function importBridgeModule(relativePath) {
  let loaded = bridgeModules.get(relativePath);
  if (loaded === undefined) {
    bridgeImporter ??= import("tsx/esm/api").then(({ register }) => register({ namespace: `secmaster-bridge-stack-${randomUUID()}` }));
    loaded = bridgeImporter.then((api) => api.import(relativePath, __filename));
    bridgeModules.set(relativePath, loaded);
  }
  return loaded;
}

/**
 * Reads and parses a routing or schedules file, YAML or JSON, and checks that JSON can represent
 * its values, which the JSON copy needs. YAML's .inf and .nan, for example, would become null.
 *
 * @throws ConfigError when the file cannot be read or parsed, or contains a value JSON cannot represent.
 */
async function readDocument(file, setting) {
  const { readConfigFile } = await importBridgeModule("../lib/routing/document.ts");
  const { ConfigError } = await importBridgeModule("../lib/errors.ts");
  const document = readConfigFile(file, setting);
  if (!isDeepStrictEqual(JSON.parse(JSON.stringify(document)), document)) {
    throw new ConfigError([`${file}: contains a value JSON cannot represent, such as .inf or .nan, which the functions' JSON copy would lose; write it as a string or a finite number`]);
  }
  return document;
}

/**
 * Writes a parsed document as JSON to `relativePath` under the service folder. The file is
 * written under a temporary name and renamed, because osls calls this function once per reference
 * and a packaging step must never read a half-written copy.
 */
function writeJsonCopy(rootDir, relativePath, document) {
  const target = path.resolve(rootDir, relativePath);
  mkdirSync(path.dirname(target), { recursive: true });
  const temporary = `${target}.${process.pid}.${randomUUID()}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(document, null, 2)}\n`);
  renameSync(temporary, target);
}

/** Formats the issues of a ConfigError, or the message of another error, as indented lines. */
function describeIssues(error) {
  if (Array.isArray(error?.issues)) return error.issues.map((issue) => `\n      - ${issue}`).join("");
  return ` ${error instanceof Error ? error.message : String(error)}`;
}

/** Checks the SecMaster id params and returns their problems. */
function checkSecMasterIds(values, secMasterIdSchema) {
  const problems = [];
  for (const { param, meaning, placeholder } of SECMASTER_ID_PARAMS) {
    const value = values[param];
    const fix = `pass the ${meaning} as --param="${param}=${placeholder}", or set it under params.STAGE in serverless.yml`;
    if (value === undefined || value === null || String(value).trim() === "") {
      problems.push(`param ${param} is empty; ${fix}`);
      continue;
    }
    const parsed = secMasterIdSchema.safeParse(value);
    if (!parsed.success) problems.push(`param ${param} ${JSON.stringify(value)} is invalid: ${parsed.error.issues[0].message}; ${fix}`);
  }
  return problems;
}

/**
 * Checks the params that reach the functions' environment unchanged with the bridge's own checks,
 * because a value the functions reject would fail every cold start of the deployed stack.
 */
async function checkRuntimeParams(values) {
  const { ENVIRONMENT_SCHEMA } = await importBridgeModule("../lib/config.ts");
  const { isSecMasterRegion, SECMASTER_REGIONS } = await importBridgeModule("../lib/secmaster/regions.ts");
  const problems = [];
  for (const [param, variable] of [
    ["logLevel", "LOG_LEVEL"],
    ["maxReceives", "BRIDGE_MAX_RECEIVES"],
  ]) {
    const parsed = ENVIRONMENT_SCHEMA.shape[variable].safeParse(String(values[param] ?? ""));
    if (!parsed.success) problems.push(`param ${param} ${JSON.stringify(values[param])} is invalid: ${parsed.error.issues[0].message}`);
  }
  // SQS takes a redrive policy's maxReceiveCount from 1 to 1000.
  if (Number(values.maxReceives) > 1000) {
    problems.push(`param maxReceives ${JSON.stringify(String(values.maxReceives))} is over 1000, the maximum maxReceiveCount of an SQS redrive policy`);
  }
  // The functions trim the region before they look it up.
  const region = String(values.secmasterRegion ?? "").trim();
  if (!isSecMasterRegion(region)) problems.push(`param secmasterRegion ${JSON.stringify(region)} is not a SecMaster region; use one of ${SECMASTER_REGIONS.join(", ")}`);
  return problems;
}

/**
 * Creates the error that stops packaging, with every problem found. osls prints the error's stack,
 * so the stack is replaced by the message, because the frames of this file would only hide the list.
 */
function packagingError(problems) {
  const error = new Error(
    `packaging stopped: ${problems.length} ${problems.length === 1 ? "problem" : "problems"} in the params or files of the stage\n    * ${problems.join("\n    * ")}`,
  );
  error.stack = error.message;
  return error;
}

// osls passes `resolveVariable`. Tests also pass `outputDir`, a folder of their own for the JSON
// copies, so that they never overwrite the copies of a packaging run in the service folder.
module.exports = async ({ resolveVariable, outputDir }) => {
  const serviceDir = path.resolve(__dirname, "..");
  const copiesDir = outputDir ?? serviceDir;
  const param = (name) => resolveVariable(`param:${name}`);
  const prefix = await param("prefix");
  const ssmPath = await param("ssmPath");
  const routesSource = await param("routesSource");
  const routesFile = await param("routesFile");
  const schedulesFile = await param("schedulesFile");
  const ids = {};
  for (const { param: name } of SECMASTER_ID_PARAMS) ids[name] = await param(name);
  const dataclassName = String((await param("secmasterDataclassName")) ?? "").trim() || "Alert";
  const senders = String(await param("senders"))
    .split(",")
    .map((sender) => sender.trim())
    .filter((sender) => sender !== "");
  const topics = { sns: await param("snsTopics"), smn: await param("smnTopics") };
  const grafanaTimestampHeader = String(await param("grafanaTimestampHeader")).trim();
  const runtimeParams = {
    logLevel: await param("logLevel"),
    maxReceives: await param("maxReceives"),
    secmasterRegion: await param("secmasterRegion"),
  };

  // Every check below adds to this list instead of throwing, so one packaging run shows every
  // problem of the params, the routing file and the schedules file.
  const problems = [];
  // Users edit YAML, so packaging registers the YAML parser before it reads their files.
  await importBridgeModule("../lib/routing/yaml.ts");
  const { secMasterIdSchema } = await importBridgeModule("../lib/routing/schema.ts");
  const { compileRoutingFile } = await importBridgeModule("../lib/routing/compile.ts");
  const { compileSchedules } = await importBridgeModule("../lib/schedule/load.ts");
  problems.push(...checkSecMasterIds(ids, secMasterIdSchema));
  problems.push(...(await checkRuntimeParams(runtimeParams)));

  if (routesSource !== "file" && routesSource !== "ssm") {
    problems.push(`param routesSource must be file or ssm, not ${JSON.stringify(routesSource)}`);
  }
  let routesDocument;
  if (routesSource === "file") {
    // The default target decides which workflows receive firing alerts, which the check of
    // resolve workflows needs. With an invalid id the check still runs, on the id as given.
    const defaultTarget = {
      projectId: String(ids.secmasterProjectId ?? ""),
      workspaceId: String(ids.secmasterWorkspaceId ?? ""),
      workflowId: String(ids.secmasterWorkflowId ?? ""),
      dataclass: { name: dataclassName },
    };
    const file = path.resolve(serviceDir, routesFile);
    try {
      routesDocument = await readDocument(file, "param routesFile");
      compileRoutingFile(routesDocument, { origin: file, defaultTarget });
    } catch (error) {
      problems.push(`routing file ${routesFile} (param routesFile) is invalid:${describeIssues(error)}`);
    }
  }

  let schedules = [];
  let schedulesDocument;
  try {
    const file = path.resolve(serviceDir, schedulesFile);
    schedulesDocument = await readDocument(file, "param schedulesFile");
    schedules = compileSchedules(schedulesDocument, file);
  } catch (error) {
    problems.push(`schedules file ${schedulesFile} (param schedulesFile) is invalid:${describeIssues(error)}`);
  }

  const scheduleEvents = [];
  for (const schedule of schedules) {
    const ruleName = `${prefix}-${schedule.name}`;
    if (ruleName.length > MAX_RULE_NAME_LENGTH) {
      problems.push(`EventBridge rule name ${ruleName} is longer than ${MAX_RULE_NAME_LENGTH} characters; shorten the schedule name or the stage`);
      continue;
    }
    scheduleEvents.push({
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
    });
  }

  // Inbound authentication of the enabled senders, and the SSM parameters their secrets live in.
  const authEnvironment = {};
  const secretParameters = ["secmaster/ak", "secmaster/sk"];
  for (const sender of senders) {
    const scheme = SENDER_SCHEMES[sender];
    if (scheme === undefined) {
      problems.push(`param senders: unknown sender ${sender}; use any of ${Object.keys(SENDER_SCHEMES).join(", ")}`);
      continue;
    }
    const key = `BRIDGE_AUTH_${sender.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
    authEnvironment[key] = scheme;
    if (scheme === "sns" || scheme === "smn") {
      if (!topics[scheme]) problems.push(`param ${scheme}Topics: the ${sender} sender needs the allowed ${scheme.toUpperCase()} topics, comma-separated`);
      authEnvironment[`${key}_TOPICS`] = topics[scheme];
      // The bridge confirms the HTTPS subscription itself, after checking the message's signature.
      authEnvironment[`${key}_AUTO_CONFIRM`] = "true";
    } else {
      authEnvironment[`${key}_SECRETS`] = `ssm:${ssmPath}/auth/${sender}`;
      secretParameters.push(`auth/${sender}`);
    }
  }
  if (grafanaTimestampHeader !== "") {
    if (!senders.includes("grafana")) {
      problems.push("param grafanaTimestampHeader: applies only to the grafana sender; add grafana to param senders or leave it empty");
    } else if (!HEADER_NAME.test(grafanaTimestampHeader)) {
      problems.push(`param grafanaTimestampHeader: ${JSON.stringify(grafanaTimestampHeader)} is not an HTTP header name; use the header name set in the Grafana contact point, such as X-Grafana-Alerting-Timestamp`);
    }
    authEnvironment.BRIDGE_AUTH_GRAFANA_TIMESTAMP_HEADER = grafanaTimestampHeader;
  }
  if (problems.length > 0) throw packagingError(problems);

  // The functions read these copies; users keep editing the files the params name.
  if (routesSource === "file") writeJsonCopy(copiesDir, ROUTES_COPY, routesDocument);
  writeJsonCopy(copiesDir, SCHEDULES_COPY, schedulesDocument);

  const parameterArn = (name) => ({ "Fn::Sub": `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${ssmPath}/${name}` });
  const routingEnvironment =
    routesSource === "file" ? { BRIDGE_ROUTES_FILE: ROUTES_COPY } : { BRIDGE_ROUTES_SSM_PARAMETER: `${ssmPath}/routes` };

  return {
    /** Environment of the ingest function: routing and inbound authentication. */
    ingestEnvironment: { ...routingEnvironment, ...authEnvironment },
    /** ARNs of the SSM parameters that hold secrets, read with ssm:GetParameters by the functions. */
    secretParameterArns: secretParameters.map(parameterArn),
    /** Environment of the functions that route alerts. */
    routingEnvironment,
    /** Files packaged with the functions that route alerts: the JSON copy of the routing file. */
    routingPatterns: routesSource === "file" ? [ROUTES_COPY] : [],
    /** Environment of the schedule function. */
    scheduleEnvironment: { BRIDGE_SCHEDULES_FILE: SCHEDULES_COPY },
    /** Files packaged with the schedule function: the JSON copy of the schedules file. */
    schedulePatterns: [SCHEDULES_COPY],
    scheduleEvents,
    /** Names of the schedules, for the outputs of the stack. */
    scheduleNames: schedules.map((schedule) => schedule.name).join(",") || "none",
  };
};
