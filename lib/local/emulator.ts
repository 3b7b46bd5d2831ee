/**
 * A local stand-in for Huawei Cloud SecMaster: a real HTTP server that checks SDK-HMAC-SHA256
 * signatures and tokens like the API gateway, validates CreateWorkflowInstance bodies, stores
 * instances (optionally on disk), and injects throttling, server errors, dropped connections and
 * lost responses on demand. Tests and `npm start` use it instead of the cloud.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { handleApiRequest, matchApiRoute, type ApiContext } from "./emulator-api";
import { authenticate, type ReceivedRequest } from "./emulator-auth";
import { FaultPlan, parseFaults, validateFaults, type FaultOutcome } from "./emulator-faults";
import { InstanceStore } from "./emulator-store";
import type { EmulatorLogger, EmulatorOptions, EmulatorStats, EmulatorWorkflow, RunningEmulator } from "./emulator-types";

export { FAULT_KINDS, parseFaults, type FaultKind, type FaultSettings } from "./emulator-faults";
export { INSTANCES_FILE } from "./emulator-store";
export type {
  EmulatorLogger,
  EmulatorOptions,
  EmulatorStats,
  EmulatorWorkflow,
  RunningEmulator,
  StoredInstance,
} from "./emulator-types";

/** Largest request body accepted, in bytes: the 12 MB limit the API gateway sets for AK/SK-signed bodies. */
export const MAX_BODY_BYTES = 12 * 1024 * 1024;

const DEFAULT_PORT = 9400;
const DEFAULT_MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

const silentLogger: EmulatorLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function emptyStats(): EmulatorStats {
  return {
    created: 0,
    duplicateAttempts: 0,
    authFailures: 0,
    contractRejections: 0,
    faultsInjected: { "429": 0, "5xx": 0, drop: 0, acceptTimeout: 0 },
    requests: 0,
  };
}

/**
 * Starts the emulator and resolves once it listens.
 *
 * @throws ConfigError `BRIDGE.CONFIG_INVALID` when the fault settings are invalid.
 * @throws BridgeError `BRIDGE.EMULATOR_STATE_INVALID` when the instance file in `dataDir` is corrupt.
 */
export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const faults = new FaultPlan(options.faults ?? {}, options.random ?? Math.random);
  const store = new InstanceStore(options.dataDir, logger);
  let stats = emptyStats();

  const workspaces = new Map<string, Map<string, EmulatorWorkflow>>(
    options.workspaces.map((workspace) => [
      workspace.workspaceId,
      new Map(workspace.workflows.map((workflow) => [workflow.id, workflow])),
    ]),
  );
  const authSettings = {
    credentials: options.credentials,
    authTokens: options.authTokens ?? [],
    maxClockSkewMs: options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS,
    now,
  };

  const sockets = new Set<Socket>();
  const shutdown = new AbortController();

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error("emulator failed to handle a request", { method: req.method, path: req.url, error });
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, 500, { error_code: "SecMaster.20039999", error_msg: "the emulator failed to process the request" });
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID().replaceAll("-", "");
    res.setHeader("X-Request-Id", requestId);

    const target = req.url ?? "/";
    const queryStart = target.indexOf("?");
    const rawPath = queryStart < 0 ? target : target.slice(0, queryStart);
    const rawQuery = queryStart < 0 ? "" : target.slice(queryStart + 1);
    const method = (req.method ?? "GET").toUpperCase();

    const body = await readBody(req);
    if (body === undefined) {
      sendJson(res, 413, {
        error_code: "APIG.0201",
        error_msg: `Request entity too large: the body exceeds ${MAX_BODY_BYTES} bytes`,
        request_id: requestId,
      });
      return;
    }

    if (rawPath === "/healthz" || rawPath.startsWith("/_emulator/")) {
      handleControl(method, rawPath, body, res);
      return;
    }

    stats.requests += 1;
    const route = matchApiRoute(method, rawPath);
    if (route === undefined) {
      sendJson(res, 404, {
        error_code: "APIG.0101",
        error_msg: "The API does not exist or has not been published in the environment",
        request_id: requestId,
      });
      return;
    }

    const request: ReceivedRequest = { method, rawPath, rawQuery, headers: req.headers, body };
    const auth = authenticate(request, authSettings);
    if (!auth.ok) {
      stats.authFailures += 1;
      logger.warn("emulator rejected a request: authentication failed", { requestId, path: rawPath, reason: auth.reason });
      sendJson(res, 401, {
        error_code: "APIG.0301",
        error_msg: `Incorrect IAM authentication information: ${auth.reason}`,
        request_id: requestId,
      });
      return;
    }

    const fault = faults.next();
    const latencyMs = faults.latencyMs();
    if (latencyMs > 0 && !(await delay(latencyMs, shutdown.signal))) return;

    if (applyFaultBeforeHandling(fault, res, requestId)) return;

    const context: ApiContext = {
      projectId: options.projectId,
      workspaces,
      duplicatePolicy: options.duplicatePolicy ?? "reject",
      store,
      now,
      requestId,
    };
    const result = handleApiRequest(route, request, context);
    if (result.outcome === "created") stats.created += 1;
    if (result.outcome === "duplicate") stats.duplicateAttempts += 1;
    if (result.outcome === "rejected") {
      stats.contractRejections += 1;
      logger.warn("emulator rejected a request: contract violated", {
        requestId,
        operation: route.operation,
        error: result.body,
      });
    }

    if (fault.kind === "accept-timeout") {
      // The request took effect but its response is lost: leave the socket open and silent
      // until the client gives up or close() destroys it.
      stats.faultsInjected.acceptTimeout += 1;
      return;
    }
    sendJson(res, result.status, result.body);
  }

  // Sends the response of an injected fault that replaces normal handling. Returns false when the
  // request should be handled (no fault, or accept-timeout, which handles first and then stays silent).
  function applyFaultBeforeHandling(fault: FaultOutcome, res: ServerResponse, requestId: string): boolean {
    switch (fault.kind) {
      case "none":
      case "accept-timeout":
        return false;
      case "429":
        stats.faultsInjected["429"] += 1;
        res.setHeader("Retry-After", "1");
        sendJson(res, 429, {
          error_code: "APIG.0308",
          error_msg: "The throttling threshold has been reached: injected by the emulator",
          request_id: requestId,
        });
        return true;
      case "5xx":
        stats.faultsInjected["5xx"] += 1;
        sendJson(res, fault.status, {
          error_code: "SecMaster.20039999",
          error_msg: `injected server error ${fault.status}`,
          request_id: requestId,
        });
        return true;
      case "drop":
        stats.faultsInjected.drop += 1;
        res.socket?.destroy();
        return true;
    }
  }

  // Serves the emulator's own unauthenticated endpoints; faults never apply here.
  function handleControl(method: string, rawPath: string, body: Buffer, res: ServerResponse): void {
    const key = `${method} ${rawPath}`;
    switch (key) {
      case "GET /healthz":
        sendJson(res, 200, { status: "ok" });
        return;
      case "GET /_emulator/instances":
        sendJson(res, 200, store.all());
        return;
      case "DELETE /_emulator/instances": {
        const deleted = store.all().length;
        reset();
        sendJson(res, 200, { deleted });
        return;
      }
      case "GET /_emulator/stats":
        sendJson(res, 200, stats);
        return;
      case "GET /_emulator/faults":
        sendJson(res, 200, faults.current());
        return;
      case "POST /_emulator/faults":
        try {
          faults.replace(parseFaultBody(body));
        } catch (error) {
          sendJson(res, 400, { error_code: "EMULATOR.FAULTS_INVALID", error_msg: (error as Error).message });
          return;
        }
        logger.info("emulator fault settings replaced", { faults: faults.current() });
        sendJson(res, 200, faults.current());
        return;
      default:
        sendJson(res, 404, { error_code: "EMULATOR.NOT_FOUND", error_msg: `no emulator endpoint ${key}` });
    }
  }

  function reset(): void {
    store.clear();
    stats = emptyStats();
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? DEFAULT_PORT, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });

  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("emulator server has no TCP address");
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${hostForUrl}:${address.port}`;
  logger.info("SecMaster emulator started", { url, dataDir: options.dataDir, instances: store.all().length });

  return {
    url,
    port: address.port,
    instances: () => store.all(),
    stats: () => structuredClone(stats),
    setFaults: (settings) => faults.replace(settings),
    reset,
    close: async () => {
      shutdown.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      logger.info("SecMaster emulator stopped", { url });
    },
  };
}

// A JSON body is fault settings; anything else is the text spec of parseFaults.
function parseFaultBody(body: Buffer) {
  const text = body.toString("utf8").trim();
  return text.startsWith("{") ? validateFaults(JSON.parse(text)) : parseFaults(text);
}

/**
 * Reads the whole body, or returns undefined when it exceeds {@link MAX_BODY_BYTES}. An
 * oversized body is still read to its end, without being kept, so the client can read the 413.
 */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return total > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json;charset=UTF-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

// Resolves true after `ms`, or false as soon as the emulator shuts down.
function delay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
