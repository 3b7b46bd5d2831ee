import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { problemResponse, problemType } from "../http/problem";
import { logger } from "../logger";
import { inInvocationScope } from "./invocation-scope";

/** A Lambda handler for API Gateway HTTP API events (payload format 2.0). */
export type HttpApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface LocalHttpServerOptions {
  host?: string;
  port?: number;
  /** Handler of `POST /v1/alerts/{source}`. */
  ingest: HttpApiHandler;
  /** Maximum request body the server reads before the handler rejects it with 413, in bytes. */
  maxReadBytes: number;
  /** Simulated Lambda timeout for `getRemainingTimeInMillis`. @default 30000 */
  functionTimeoutMs?: number;
  /**
   * How long `close` waits for the requests in flight to get their responses, in milliseconds.
   * Their connections are closed after it. @default functionTimeoutMs
   */
  closeGraceMs?: number;
}

export interface LocalHttpServer {
  url: string;
  port: number;
  /** Stops accepting deliveries: new connections are refused and new requests get 503. */
  stopAccepting(): void;
  /** Stops accepting and waits up to `closeGraceMs` for the responses in flight. */
  close(): Promise<void>;
}

const ALERTS_ROUTE = /^\/v1\/alerts\/([^/]+)$/;

/**
 * Serves the ingest handler over real HTTP on the laptop: each request becomes the API Gateway v2
 * event that the deployed HTTP API would send, so the same handler code runs in both places.
 */
export async function startLocalHttpServer(options: LocalHttpServerOptions): Promise<LocalHttpServer> {
  const inFlight = new Set<ServerResponse>();
  let onDrained: (() => void) | undefined;
  let closed: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const server = createServer((request, response) => {
    if (closed !== undefined) {
      // A keep-alive connection can still carry a request after close began.
      response.shouldKeepAlive = false;
      send(response, shuttingDown(randomUUID()));
      return;
    }
    inFlight.add(response);
    response.once("close", () => {
      inFlight.delete(response);
      if (inFlight.size === 0) onDrained?.();
    });
    void route(request, response, options);
  });
  await listen(server, options.port ?? 3000, options.host ?? "127.0.0.1");
  const { port } = server.address() as AddressInfo;

  function stopAccepting(): void {
    if (closed !== undefined) return;
    closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // The responses in flight close their connections once sent.
    for (const response of inFlight) response.shouldKeepAlive = false;
  }

  // Stops accepting connections, lets the requests in flight finish, so that a sender gets the
  // result of alerts that started, and then closes every connection.
  async function closeServer(): Promise<void> {
    stopAccepting();
    if (inFlight.size > 0) {
      const graceMs = options.closeGraceMs ?? options.functionTimeoutMs ?? 30_000;
      logger.info("waiting for the deliveries in flight before stopping", { requests: inFlight.size, maxWaitMs: graceMs });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (onDrained = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
      if (inFlight.size > 0) logger.warn("stopped with deliveries still in flight; their senders get no response and retry", { requests: inFlight.size });
    }
    server.closeAllConnections();
    await closed;
  }

  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    stopAccepting,
    // A second close, such as SIGTERM after Ctrl-C, waits for the first.
    close: () => (closing ??= closeServer()),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

async function route(request: IncomingMessage, response: ServerResponse, options: LocalHttpServerOptions): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  const method = request.method ?? "GET";
  // Problem responses carry this id as `instance`, as those of the ingest handler do.
  const requestId = randomUUID();
  if (url.pathname === "/healthz") {
    if (method === "GET") send(response, { statusCode: 200, headers: { "content-type": "application/json" }, body: '{"status":"ok"}' });
    else send(response, methodNotAllowed(method, url.pathname, requestId, HEALTH_METHOD));
    return;
  }
  const match = ALERTS_ROUTE.exec(url.pathname);
  if (match === null) {
    send(response, notFound(method, url.pathname, requestId));
    return;
  }
  if (method !== "POST") {
    send(response, methodNotAllowed(method, url.pathname, requestId, ALERTS_METHOD));
    return;
  }

  const body = await readBody(request, options.maxReadBytes);
  const event = toEvent(request, url, decodeURIComponent(match[1]!), body, requestId);
  try {
    send(response, await inInvocationScope(() => options.ingest(event, lambdaContext(requestId, options.functionTimeoutMs ?? 30_000))));
  } catch {
    send(response, { statusCode: 500, headers: { "content-type": "application/json" }, body: '{"message":"Internal Server Error"}' });
  }
}

// Reads at most maxReadBytes + 1 bytes, so the handler gets an oversize body and returns 413 itself.
async function readBody(request: IncomingMessage, maxReadBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    if (length <= maxReadBytes) chunks.push(chunk);
    length += chunk.length;
  }
  return Buffer.concat(chunks);
}

function toEvent(request: IncomingMessage, url: URL, source: string, body: Buffer, requestId: string): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const now = new Date();
  return {
    version: "2.0",
    routeKey: "POST /v1/alerts/{source}",
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ""),
    headers,
    queryStringParameters: url.search === "" ? undefined : Object.fromEntries(url.searchParams),
    pathParameters: { source },
    requestContext: {
      accountId: "local",
      apiId: "local",
      domainName: headers.host ?? "127.0.0.1",
      domainPrefix: "local",
      http: {
        method: request.method ?? "POST",
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId,
      routeKey: "POST /v1/alerts/{source}",
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    // API Gateway base64-encodes bodies it cannot pass as text; doing the same keeps that path tested.
    body: body.toString("base64"),
    isBase64Encoded: true,
  };
}

function lambdaContext(requestId: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "secmaster-bridge-local-ingest",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:secmaster-bridge-local-ingest",
    memoryLimitInMB: "512",
    awsRequestId: requestId,
    logGroupName: "local",
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function shuttingDown(requestId: string): APIGatewayProxyStructuredResultV2 {
  return problemResponse(
    {
      type: problemType("BRIDGE.SHUTTING_DOWN"),
      title: "Service Unavailable",
      status: 503,
      detail: "the local bridge is stopping and takes no new deliveries",
      code: "BRIDGE.SHUTTING_DOWN",
      fix: "retry the delivery once the bridge runs again",
      instance: requestId,
    },
    { "retry-after": "5" },
  );
}

function notFound(method: string, path: string, requestId: string): APIGatewayProxyStructuredResultV2 {
  return problemResponse({
    type: problemType("BRIDGE.ROUTE_NOT_FOUND"),
    title: "Not Found",
    status: 404,
    detail: `no route for ${method.slice(0, 16)} ${path.slice(0, 128)}`,
    code: "BRIDGE.ROUTE_NOT_FOUND",
    field: "path",
    fix: "post alerts to /v1/alerts/{source}; GET /healthz checks the server",
    instance: requestId,
  });
}

/** The one method a route allows, and the fix a 405 on it gives. */
interface AllowedMethod {
  method: string;
  fix: string;
}

const ALERTS_METHOD: AllowedMethod = { method: "POST", fix: "post alerts with POST; GET /healthz checks the server" };
const HEALTH_METHOD: AllowedMethod = { method: "GET", fix: "check the server with GET /healthz; post alerts to /v1/alerts/{source}" };

function methodNotAllowed(method: string, path: string, requestId: string, allowed: AllowedMethod): APIGatewayProxyStructuredResultV2 {
  return problemResponse(
    {
      type: problemType("BRIDGE.METHOD_NOT_ALLOWED"),
      title: "Method Not Allowed",
      status: 405,
      detail: `${method.slice(0, 16)} is not allowed on ${path.slice(0, 128)}`,
      code: "BRIDGE.METHOD_NOT_ALLOWED",
      field: "method",
      fix: allowed.fix,
      instance: requestId,
    },
    { allow: allowed.method },
  );
}

function send(response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  response.statusCode = result.statusCode ?? 200;
  for (const [name, value] of Object.entries(result.headers ?? {})) response.setHeader(name, String(value));
  response.end(result.body ?? "");
}
