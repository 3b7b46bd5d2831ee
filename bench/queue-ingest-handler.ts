import { randomBytes, randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { createIngestHandler } from "../functions/ingest";
import { loadConfig } from "../lib/config";
import { localLambdaContext } from "../lib/delivery/poller";
import { createIngestRuntime } from "../lib/ingest-runtime";
import { BENCH_IDS } from "./ids";
import { MemoryQueue } from "./memory-queue";

/** The queue-mode ingest function over an in-memory queue, as the figures call it. */
export interface QueueIngest {
  /** Posts one Alertmanager delivery and returns the status code and the jobs it queued. */
  invoke(body: string): Promise<{ statusCode: number; jobs: number }>;
  close(): Promise<void>;
}

/**
 * Builds the ingest Lambda handler of `functions/ingest.ts` in queue mode, with the ingest runtime
 * over a {@link MemoryQueue} and bearer-token authentication for Alertmanager, as a deployment
 * would configure it. Nothing is contacted: queue mode never calls SecMaster from ingest.
 */
export function createQueueIngest(): QueueIngest {
  const token = randomBytes(16).toString("hex");
  const config = loadConfig({
    BRIDGE_MODE: "queue",
    // Required settings; ingest in queue mode never sends anything to this endpoint.
    SECMASTER_ENDPOINT: "http://127.0.0.1:9",
    SECMASTER_PROJECT_ID: BENCH_IDS.projectId,
    SECMASTER_WORKSPACE_ID: BENCH_IDS.workspaceId,
    SECMASTER_WORKFLOW_ID: BENCH_IDS.workflowId,
    SECMASTER_AK: "BENCHINGESTKEY000001",
    SECMASTER_SK: randomBytes(16).toString("hex"),
    BRIDGE_AUTH_ALERTMANAGER: "bearer",
    BRIDGE_AUTH_ALERTMANAGER_SECRETS: "env:BENCH_ALERTMANAGER_TOKEN",
    BENCH_ALERTMANAGER_TOKEN: token,
  });
  const queue = new MemoryQueue();
  const runtime = createIngestRuntime(config, { queue });
  const handler = createIngestHandler(() => runtime, () => config);

  return {
    invoke: async (body) => {
      queue.clear();
      const response = await handler(alertmanagerEvent(body, token), localLambdaContext(30_000));
      return { statusCode: response.statusCode ?? 0, jobs: queue.bodies.length };
    },
    close: () => runtime.close(),
  };
}

function alertmanagerEvent(body: string, token: string): APIGatewayProxyEventV2 {
  const now = new Date();
  const requestId = randomUUID();
  return {
    version: "2.0",
    routeKey: "POST /v1/alerts/{source}",
    rawPath: "/v1/alerts/alertmanager",
    rawQueryString: "",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "user-agent": "Alertmanager/0.28.1" },
    pathParameters: { source: "alertmanager" },
    requestContext: {
      accountId: "bench",
      apiId: "bench",
      domainName: "127.0.0.1",
      domainPrefix: "bench",
      http: { method: "POST", path: "/v1/alerts/alertmanager", protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "Alertmanager/0.28.1" },
      requestId,
      routeKey: "POST /v1/alerts/{source}",
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body,
    isBase64Encoded: false,
  };
}
