import type { Severity } from "./alert/schema";
import { mapWithConcurrency } from "./concurrency";
import type { StartJob } from "./delivery/job";
import { describeStartFailure, startFailureLogLevel } from "./delivery/failure";
import type { Starter } from "./delivery/start";
import { InvalidInputError } from "./errors";
import { actionInstanceId } from "./identity";
import { logger } from "./logger";
import { defaultRouteTable, type RouteTable } from "./routing/compile";
import { routeAlert } from "./routing/match";
import { parsePayload } from "./sources/parse";
import type { NormalizeContext, NormalizedAlert, SourceAdapter } from "./sources/types";

/** Outcome of one alert of a delivery, as returned to the sender. */
export interface AlertResult {
  action_instance_id: string;
  workflow_id: string;
  /**
   * `accepted`: enqueued in queue mode, started later by dispatch. `dead-lettered`: in direct
   * mode, SecMaster rejected the start in a way a retry cannot fix, and the job went to the
   * dead-letter queue for `secmaster-bridge redrive`.
   */
  status: "created" | "duplicate" | "accepted" | "skipped" | "failed" | "dead-lettered";
  reason?: string;
  /** Stable error code of a failure, such as `APIG.0301`. */
  code?: string;
}

/** Target of the alerts that no routing rule claims. */
export interface DefaultTarget {
  projectId: string;
  workspaceId: string;
  workflowId: string;
  dataclass: { id?: string; name: string };
}

export interface IngestOptions {
  target: DefaultTarget;
  /** Routing rules. @default every firing alert to `target` */
  routes?: RouteTable | undefined;
  starter: Starter;
  defaultSeverity: Severity;
  dispatchConcurrency: number;
  /** Called once per unknown severity value, for a metric. */
  onUnknownSeverity?: (source: string, field: string) => void;
}

export interface IngestRequest {
  adapter: SourceAdapter<unknown>;
  /** The parsed JSON body. */
  body: unknown;
  receivedAt: Date;
  signal?: AbortSignal;
  /** The source's settings from `BRIDGE_SOURCE_OPTIONS`, passed to the adapter unchanged. */
  options?: unknown;
}

/**
 * Splits one delivery into alerts, normalizes them, and starts one workflow instance per firing
 * alert episode. Resolved alerts and vendor test notifications are acknowledged as `skipped`.
 *
 * @throws InvalidInputError when the delivery does not match the source's schema or an alert has
 *   no stable identity; nothing is started in that case.
 */
export async function ingestDelivery(request: IngestRequest, options: IngestOptions): Promise<AlertResult[]> {
  const planned = planDelivery(request, options);
  return mapWithConcurrency(planned, options.dispatchConcurrency, async (plan) => {
    if (plan.skipReason !== undefined) {
      return { action_instance_id: plan.job.actionInstanceId, workflow_id: plan.job.workflowId, status: "skipped", reason: plan.skipReason };
    }
    return startOne(plan.job, options.starter, request.signal);
  });
}

/**
 * Parses and normalizes a delivery into one planned job per alert and workflow, without starting
 * anything. `secmaster-bridge normalize` prints these plans.
 */
export function planDelivery(
  request: IngestRequest,
  options: Pick<IngestOptions, "target" | "routes" | "defaultSeverity" | "onUnknownSeverity">,
): Plan[] {
  const alerts = normalizeDelivery(request, options);
  const routes = options.routes ?? defaultRouteTable(options.target);
  const plans: Plan[] = [];
  for (const alert of alerts) plans.push(...planAlert(alert, options.target, routes));
  return plans;
}

/** Parses a delivery with its source's schema and splits it into normalized alerts. */
export function normalizeDelivery(request: IngestRequest, options: Pick<IngestOptions, "defaultSeverity" | "onUnknownSeverity">): NormalizedAlert[] {
  const { adapter } = request;
  const payload = parsePayload(adapter.schema, request.body, adapter.id);
  return adapter.normalize(payload, new DeliveryContext(request, options));
}

/**
 * The {@link NormalizeContext} of one delivery. A class rather than an object literal, so that
 * no closure is built per delivery.
 */
class DeliveryContext implements NormalizeContext {
  readonly receivedAt: Date;
  readonly options: unknown;
  readonly #sourceId: string;
  readonly #settings: Pick<IngestOptions, "defaultSeverity" | "onUnknownSeverity">;

  constructor(request: IngestRequest, settings: Pick<IngestOptions, "defaultSeverity" | "onUnknownSeverity">) {
    this.receivedAt = request.receivedAt;
    this.options = request.options;
    this.#sourceId = request.adapter.id;
    this.#settings = settings;
  }

  unknownSeverity(field: string, value: unknown): Severity {
    const settings = this.#settings;
    let bySource = severityWarnings.get(this.#sourceId);
    if (bySource === undefined) severityWarnings.set(this.#sourceId, (bySource = new Map<string, { atMs: number; since: number }>()));
    const warned = bySource.get(field);
    const nowMs = Date.now();
    if (warned === undefined || nowMs - warned.atMs >= SEVERITY_WARNING_INTERVAL_MS) {
      logger.warn("unknown severity value, using the default", {
        source: this.#sourceId,
        field,
        value: typeof value === "string" ? value.slice(0, 64) : typeof value,
        defaultSeverity: settings.defaultSeverity,
        ...(warned !== undefined && warned.since > 0 ? { sameWarningsSinceLast: warned.since } : {}),
      });
      bySource.set(field, { atMs: nowMs, since: 0 });
    } else {
      warned.since += 1;
    }
    settings.onUnknownSeverity?.(this.#sourceId, field);
    return settings.defaultSeverity;
  }
}

// Each process logs the unknown-severity warning at most once a minute per source and field, with
// the count of the ones left out, because a sender that never sends a severity would otherwise add
// a line per alert. The metric still counts every alert.
const SEVERITY_WARNING_INTERVAL_MS = 60_000;
const severityWarnings = new Map<string, Map<string, { atMs: number; since: number }>>();

/** One alert of a delivery and one of its workflows, ready to start unless `skipReason` is set. */
export interface Plan {
  job: StartJob;
  skipReason: string | undefined;
  /** The routing rule that chose the workflow; undefined for the default target and skipped alerts. */
  rule?: string | undefined;
}

/**
 * Plans one alert: one plan per routed workflow, or a single skipped plan addressed to the default
 * target when nothing starts. A resolved alert routed to a resolve workflow keeps the source, key
 * and episode of its firing notifications, so its id differs from theirs only by the workflow id
 * (the routing file rejects a workflow that receives both).
 */
function planAlert(alert: NormalizedAlert, defaultTarget: DefaultTarget, routes: RouteTable): Plan[] {
  if (alert.skipReason !== undefined) return [{ job: jobFor(alert, defaultTarget), skipReason: alert.skipReason }];
  const decision = routeAlert(alert, routes);
  if (decision.droppedBy !== undefined) {
    return [{ job: jobFor(alert, defaultTarget), skipReason: `dropped by routing rule "${decision.droppedBy}"` }];
  }
  if (decision.targets.length === 0) {
    const skipReason =
      alert.status === "resolved"
        ? "alert is resolved and no routing rule sends resolved alerts to a resolve workflow"
        : "no routing rule matched and the routing file's default drops unmatched alerts";
    return [{ job: jobFor(alert, defaultTarget), skipReason }];
  }
  return decision.targets.map(({ target, rule }) => ({ job: jobFor(alert, target), skipReason: undefined, rule }));
}

function jobFor(alert: NormalizedAlert, target: DefaultTarget): StartJob {
  const id = actionInstanceId({
    source: alert.source,
    scope: alert.scope,
    key: alert.key,
    episode: alert.episode,
    workflowId: target.workflowId,
  });
  return {
    actionInstanceId: id,
    projectId: target.projectId,
    workspaceId: target.workspaceId,
    workflowId: target.workflowId,
    dataclass: target.dataclass,
    source: alert.source,
    alertKey: alert.key,
    identity: { scope: alert.scope, key: alert.key, episode: alert.episode },
    content: alert.content,
  };
}

async function startOne(job: StartJob, starter: Starter, signal: AbortSignal | undefined): Promise<AlertResult> {
  try {
    const outcome = await starter.start(job, signal);
    return { action_instance_id: job.actionInstanceId, workflow_id: job.workflowId, status: outcome.status };
  } catch (error) {
    const failure = describeStartFailure(error);
    const log = startFailureLogLevel(failure.code) === "warn" ? logger.warn.bind(logger) : logger.error.bind(logger);
    log("failed to start workflow instance", {
      actionInstanceId: job.actionInstanceId,
      workflowId: job.workflowId,
      source: job.source,
      code: failure.code,
      reason: failure.reason,
      error: error instanceof Error ? error : undefined,
    });
    return {
      action_instance_id: job.actionInstanceId,
      workflow_id: job.workflowId,
      status: "failed",
      code: failure.code,
      reason: `failed to start workflow instance ${job.actionInstanceId} for alert ${job.source}/${job.alertKey}: ${failure.reason}`,
    };
  }
}

// Kept here for importers; dispatch imports it from lib/concurrency.ts without the ingest parts.
export { mapWithConcurrency };

/** Parses a raw body as JSON, or throws a 400 error that names the fix. */
export function parseJsonBody(raw: string): unknown {
  if (raw.trim() === "") {
    throw new InvalidInputError("BRIDGE.BODY_EMPTY", "request body is empty", {
      statusCode: 400,
      field: "(body)",
      fix: "send the alert delivery as a JSON body",
    });
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new InvalidInputError("BRIDGE.BODY_NOT_JSON", `request body is not valid JSON: ${(error as Error).message}`, {
      statusCode: 400,
      field: "(body)",
      fix: "send a JSON body with Content-Type: application/json",
      cause: error,
    });
  }
}

