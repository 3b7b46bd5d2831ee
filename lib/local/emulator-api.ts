import * as z from "zod";
import { formatPath } from "../sources/parse";
import { decodePath, headerValue, parseQuery, type ReceivedRequest } from "./emulator-auth";
import type { InstanceStore } from "./emulator-store";
import type { EmulatorWorkflow, StoredInstance } from "./emulator-types";

/** SecMaster business error codes the emulator returns, as the API reference lists them. */
export const SECMASTER_CODES = {
  workspaceInvalid: "SecMaster.20010001",
  parameterInvalid: "SecMaster.20030001",
  projectInvalid: "SecMaster.20030002",
  dataObjectInvalid: "SecMaster.20030025",
  instanceExists: "SecMaster.20048001",
} as const;

/** A matched SecMaster API route with its decoded path parameters. */
export type ApiRoute =
  | { operation: "CreateWorkflowInstance"; projectId: string; workspaceId: string; workflowId: string }
  | { operation: "ListWorkflows"; projectId: string; workspaceId: string }
  | { operation: "ShowWorkflow"; projectId: string; workspaceId: string; workflowId: string }
  | { operation: "ListWorkflowInstances"; projectId: string; workspaceId: string }
  | { operation: "ShowWorkflowInstance"; projectId: string; workspaceId: string; instanceId: string };

/**
 * Matches a method and a received path against the emulated routes under
 * `/v1/{project_id}/workspaces/{workspace_id}/soc`. Returns undefined for anything else,
 * which the gateway rejects with 404 before checking authentication.
 */
export function matchApiRoute(method: string, rawPath: string): ApiRoute | undefined {
  const decoded = decodePath(rawPath);
  if (decoded === undefined) return undefined;

  const [empty, version, projectId, workspacesWord, workspaceId, soc, ...rest] = decoded.split("/");
  if (empty !== "" || version !== "v1" || workspacesWord !== "workspaces" || soc !== "soc") return undefined;
  if (projectId === undefined || projectId === "" || workspaceId === undefined || workspaceId === "") return undefined;
  if (rest[0] !== "workflows") return undefined;

  const scope = { projectId, workspaceId };
  const [, second, third] = rest;
  if (method === "GET" && rest.length === 1) return { operation: "ListWorkflows", ...scope };
  if (method === "GET" && rest.length === 2 && second === "instances") {
    return { operation: "ListWorkflowInstances", ...scope };
  }
  if (method === "GET" && rest.length === 3 && second === "instances" && third !== "") {
    return { operation: "ShowWorkflowInstance", ...scope, instanceId: third! };
  }
  if (method === "GET" && rest.length === 2 && second !== "") {
    return { operation: "ShowWorkflow", ...scope, workflowId: second! };
  }
  if (method === "POST" && rest.length === 3 && third === "instances" && second !== "") {
    return { operation: "CreateWorkflowInstance", ...scope, workflowId: second! };
  }
  return undefined;
}

/** State of the running emulator that the API handlers use. */
export interface ApiContext {
  projectId: string;
  workspaces: ReadonlyMap<string, ReadonlyMap<string, EmulatorWorkflow>>;
  duplicatePolicy: "reject" | "accept";
  store: InstanceStore;
  now: () => Date;
  requestId: string;
}

/** A response and how it counts in the statistics. */
export interface ApiResult {
  status: number;
  body: unknown;
  outcome: "ok" | "created" | "duplicate" | "rejected";
}

/**
 * Handles a SecMaster API request that passed authentication and fault injection.
 *
 * @throws Error from the instance store when it cannot write to its data folder.
 */
export function handleApiRequest(route: ApiRoute, request: ReceivedRequest, context: ApiContext): ApiResult {
  const scopeError = checkScope(route, request, context);
  if (scopeError !== undefined) return scopeError;
  const workflows = context.workspaces.get(route.workspaceId)!;

  switch (route.operation) {
    case "CreateWorkflowInstance":
      return createWorkflowInstance({ route, request, workflows, context });
    case "ListWorkflows":
      return listWorkflows({ route, request, workflows, context });
    case "ShowWorkflow":
      return showWorkflow({ route, request, workflows, context });
    case "ListWorkflowInstances":
      return listWorkflowInstances({ route, request, workflows, context });
    case "ShowWorkflowInstance":
      return showWorkflowInstance({ route, request, workflows, context });
  }
}

/** One request on its way through a handler, with the workflows of its workspace. */
interface ApiCall<Operation extends ApiRoute["operation"]> {
  route: Extract<ApiRoute, { operation: Operation }>;
  request: ReceivedRequest;
  workflows: ReadonlyMap<string, EmulatorWorkflow>;
  context: ApiContext;
}

function rejected(code: string, message: string): ApiResult {
  return { status: 400, body: { code, message }, outcome: "rejected" };
}

function unknownWorkflow(route: { workflowId: string; workspaceId: string }): ApiResult {
  const message = `workflow ${route.workflowId} does not exist in workspace ${route.workspaceId}`;
  return rejected(SECMASTER_CODES.parameterInvalid, message);
}

function checkScope(route: ApiRoute, request: ReceivedRequest, context: ApiContext): ApiResult | undefined {
  if (route.projectId !== context.projectId) {
    const message = `project_id ${route.projectId} in the path is not this account's project`;
    return rejected(SECMASTER_CODES.projectInvalid, message);
  }
  const headerProjectId = headerValue(request.headers, "x-project-id");
  if (headerProjectId !== undefined && headerProjectId !== route.projectId) {
    return rejected(
      SECMASTER_CODES.projectInvalid,
      `X-Project-Id ${headerProjectId} does not match project_id ${route.projectId} in the path`,
    );
  }
  if (!context.workspaces.has(route.workspaceId)) {
    return rejected(SECMASTER_CODES.workspaceInvalid, `workspace ${route.workspaceId} does not exist`);
  }
  return undefined;
}

// Builds the error text for a missing value and for a value of the wrong type, so that messages tell the two apart.
function requiredAs(expected: string): (issue: { input: unknown }) => string {
  return (issue) => (issue.input === undefined ? "is required" : `must be ${expected}`);
}

const createBodySchema = z.object(
  {
    command_type: z.literal("ActionInstanceRunCommand", { error: requiredAs('"ActionInstanceRunCommand"') }),
    action_type: z.literal("workflow", { error: requiredAs('"workflow"') }),
    action_id: z.string({ error: requiredAs("a string (the workflow id)") }),
    action_instance_id: z.string({ error: requiredAs("a string") }).min(1, { error: "must not be empty" }),
    playbook_context: z.object(
      {
        data_object: z.object(
          {
            content: z.record(z.string(), z.unknown(), { error: requiredAs("an object") }).optional(),
            dataclass: z
              .object(
                {
                  id: z.string({ error: requiredAs("a string") }).optional(),
                  name: z.string({ error: requiredAs("a string") }),
                },
                { error: requiredAs("an object") },
              )
              .optional(),
          },
          { error: requiredAs("an object") },
        ),
      },
      { error: requiredAs("an object") },
    ),
  },
  { error: requiredAs("a JSON object") },
);

/** The five request fields CreateWorkflowInstance echoes back. */
const ECHOED_FIELDS = ["command_type", "action_type", "action_id", "action_instance_id", "playbook_context"] as const;

function createWorkflowInstance(call: ApiCall<"CreateWorkflowInstance">): ApiResult {
  const { route, request, workflows, context } = call;
  const workflow = workflows.get(route.workflowId);
  if (workflow === undefined) {
    return unknownWorkflow(route);
  }
  // NOTE: whether SecMaster rejects a run of a disabled workflow is unverified. The emulator rejects it.
  if (workflow.enabled === false) {
    return rejected(SECMASTER_CODES.parameterInvalid, `workflow ${route.workflowId} is disabled`);
  }

  const mediaType = headerValue(request.headers, "content-type")?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json") {
    return rejected(SECMASTER_CODES.parameterInvalid, `content-type must be application/json, got ${mediaType ?? "none"}`);
  }

  const body = parseJsonBody(request.body);
  if (!body.ok) return rejected(SECMASTER_CODES.parameterInvalid, body.reason);

  const parsed = createBodySchema.safeParse(body.value);
  if (!parsed.success) {
    const [first] = parsed.error.issues;
    const inDataObject = first?.path[0] === "playbook_context";
    const code = inDataObject ? SECMASTER_CODES.dataObjectInvalid : SECMASTER_CODES.parameterInvalid;
    const reasons = parsed.error.issues.map((issue) => `${formatPath(issue.path)} ${issue.message}`);
    return rejected(code, reasons.join("; "));
  }

  const { action_id: actionId, action_instance_id: instanceId } = parsed.data;
  if (actionId !== route.workflowId) {
    const message = `action_id ${actionId} does not match workflow_id ${route.workflowId} in the path`;
    return rejected(SECMASTER_CODES.parameterInvalid, message);
  }

  const raw = body.value as Record<string, unknown>;
  const echo = Object.fromEntries(ECHOED_FIELDS.map((field) => [field, raw[field]]));

  if (context.store.find(route.workspaceId, instanceId) !== undefined) {
    if (context.duplicatePolicy === "accept") return { status: 200, body: echo, outcome: "duplicate" };
    return {
      status: 400,
      body: { code: SECMASTER_CODES.instanceExists, message: `workflow instance ${instanceId} already exists` },
      outcome: "duplicate",
    };
  }

  context.store.add({
    project_id: route.projectId,
    workspace_id: route.workspaceId,
    workflow_id: route.workflowId,
    received_at: context.now().toISOString(),
    request: body.value,
    instance_id: instanceId,
  });
  return { status: 200, body: echo, outcome: "created" };
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function parseJsonBody(bytes: Buffer): { ok: true; value: unknown } | { ok: false; reason: string } {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { ok: false, reason: "the body is not valid UTF-8" };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, reason: `the body is not valid JSON: ${(error as Error).message}` };
  }
}

// Workflow versions are not configurable; each emulated workflow has one fixed version.
function versionIdOf(workflow: EmulatorWorkflow): string {
  return `${workflow.id}-version-1`;
}

function workflowInfo(workflow: EmulatorWorkflow, route: ApiRoute): Record<string, unknown> {
  return {
    id: workflow.id,
    name: workflow.name,
    description: "",
    project_id: route.projectId,
    workspace_id: route.workspaceId,
    enabled: workflow.enabled ?? true,
    dataclass_id: workflow.dataclassId,
    dataclass_name: workflow.dataclassName,
    version_id: versionIdOf(workflow),
    aop_type: "NORMAL",
    engine_type: "public_engine",
  };
}

function success(data: Record<string, unknown>, context: ApiContext): Record<string, unknown> {
  return { code: "00000000", message: "", success: true, request_id: context.requestId, ...data };
}

function showWorkflow(call: ApiCall<"ShowWorkflow">): ApiResult {
  const { route, workflows, context } = call;
  const workflow = workflows.get(route.workflowId);
  if (workflow === undefined) {
    return unknownWorkflow(route);
  }
  return { status: 200, body: success({ data: workflowInfo(workflow, route) }, context), outcome: "ok" };
}

function listWorkflows(call: ApiCall<"ListWorkflows">): ApiResult {
  const { route, request, workflows, context } = call;
  const query = readQuery(request, ["name", "enabled", "dataclass_id", "dataclass_name"]);
  if (!query.ok) return query.error;
  const { filters, offset, limit } = query;

  const matching = [...workflows.values()].filter(
    (workflow) =>
      (filters.name === undefined || workflow.name.includes(filters.name)) &&
      (filters.enabled === undefined || String(workflow.enabled ?? true) === filters.enabled) &&
      (filters.dataclass_id === undefined || workflow.dataclassId === filters.dataclass_id) &&
      (filters.dataclass_name === undefined || workflow.dataclassName === filters.dataclass_name),
  );
  const page = matching.slice(offset, offset + limit).map((workflow) => workflowInfo(workflow, route));
  return { status: 200, body: success({ total: matching.length, size: page.length, data: page }, context), outcome: "ok" };
}

/** Detail of an instance as ListWorkflowInstances and ShowWorkflowInstance return it. */
function instanceDetail(instance: StoredInstance, workflow: EmulatorWorkflow | undefined): Record<string, unknown> {
  // A workflow removed from the configuration after a restart keeps its id but loses its names.
  const name = workflow?.name ?? "";
  return {
    id: instance.instance_id,
    name,
    workflow: {
      id: instance.workflow_id,
      name,
      name_en: name,
      version: "v1",
      version_id: workflow === undefined ? "" : versionIdOf(workflow),
    },
    dataclass: {
      id: workflow?.dataclassId ?? "",
      name: workflow?.dataclassName ?? "",
      en_name: workflow?.dataclassName ?? "",
    },
    trigger_type: "EVENT",
    status: "RUNNING",
    start_time: instance.received_at,
    retry_count: 0,
  };
}

function listWorkflowInstances(call: ApiCall<"ListWorkflowInstances">): ApiResult {
  const { route, request, workflows, context } = call;
  const query = readQuery(request, ["id", "workflow_id"]);
  if (!query.ok) return query.error;
  const { filters, offset, limit } = query;

  const matching = context.store
    .all()
    .filter(
      (instance) =>
        instance.workspace_id === route.workspaceId &&
        (filters.id === undefined || instance.instance_id === filters.id) &&
        (filters.workflow_id === undefined || instance.workflow_id === filters.workflow_id),
    );
  const page = matching
    .slice(offset, offset + limit)
    .map((instance) => instanceDetail(instance, workflows.get(instance.workflow_id)));
  return { status: 200, body: { count: matching.length, instances: page }, outcome: "ok" };
}

function showWorkflowInstance(call: ApiCall<"ShowWorkflowInstance">): ApiResult {
  const { route, workflows, context } = call;
  const instance = context.store.find(route.workspaceId, route.instanceId);
  if (instance === undefined) {
    const message = `workflow instance ${route.instanceId} does not exist in workspace ${route.workspaceId}`;
    return rejected(SECMASTER_CODES.parameterInvalid, message);
  }
  return { status: 200, body: instanceDetail(instance, workflows.get(instance.workflow_id)), outcome: "ok" };
}

type QueryRead<K extends string> =
  | { ok: true; filters: Partial<Record<K, string>>; offset: number; limit: number }
  | { ok: false; error: ApiResult };

/**
 * Reads single-valued filters and `offset`/`limit` from the query. The bounds are the ones
 * the API reference gives for ListWorkflows (offset 0–10000, limit 1–100, default 10), applied
 * to both list routes.
 */
function readQuery<K extends string>(request: ReceivedRequest, filterNames: readonly K[]): QueryRead<K> {
  const query = parseQuery(request.rawQuery);
  if (query === undefined) {
    return { ok: false, error: rejected(SECMASTER_CODES.parameterInvalid, "the query string has invalid percent-encoding") };
  }

  const single: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) {
      return { ok: false, error: rejected(SECMASTER_CODES.parameterInvalid, `query parameter ${key} must be given once`) };
    }
    single[key] = value;
  }

  const offset = readInteger(single.offset, "offset", 0, 0, 10_000);
  if (typeof offset === "string") return { ok: false, error: rejected(SECMASTER_CODES.parameterInvalid, offset) };
  const limit = readInteger(single.limit, "limit", 10, 1, 100);
  if (typeof limit === "string") return { ok: false, error: rejected(SECMASTER_CODES.parameterInvalid, limit) };

  const filters: Partial<Record<K, string>> = {};
  for (const name of filterNames) {
    if (single[name] !== undefined) filters[name] = single[name];
  }
  return { ok: true, filters, offset, limit };
}

// Returns the integer, or a message when the value is not an integer within [min, max].
function readInteger(value: string | undefined, name: string, fallback: number, min: number, max: number): number | string {
  if (value === undefined) return fallback;
  const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    return `query parameter ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`;
  }
  return parsed;
}
