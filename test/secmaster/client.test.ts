import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, SecMasterError } from "../../lib/errors";
import {
  SecMasterClient,
  isDuplicateInstanceError,
  type RetryInfo,
  type SecMasterClientOptions,
} from "../../lib/secmaster/client";
import type { CreateWorkflowInstanceRequest } from "../../lib/secmaster/schemas";
import { computeSignature, parseAuthorization } from "../../lib/secmaster/signer";
import { readFixture } from "../helpers/fixtures";

const PROJECT_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const WORKSPACE_ID = "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f";
const WORKFLOW_ID = "b3c4d5e6-7f80-4a91-8b2c-3d4e5f607182";
const INSTANCE_ID = "5f0c2a9e-4b7d-5e1f-8a3c-9d2e6b4f1a07";
const ACCESS_KEY = "HPUAEXAMPLEAKID00001";
const SECRET_KEY = "exampleSecretKey0123456789ABCDEFGHIJKLMN";
const SECURITY_TOKEN = "exampleSecurityToken-temporary-0001";
const IAM_TOKEN = "MIIexampleIamToken000111222";
const INSTANCES_PATH = `/v1/${PROJECT_ID}/workspaces/${WORKSPACE_ID}/soc/workflows/${WORKFLOW_ID}/instances`;

const CREATE_BODY: CreateWorkflowInstanceRequest = {
  command_type: "ActionInstanceRunCommand",
  action_type: "workflow",
  action_id: WORKFLOW_ID,
  action_instance_id: INSTANCE_ID,
  playbook_context: {
    data_object: {
      content: { title: "主机 CPU 使用率过高", severity: "High", ipdrr_phase: "Contain，Eradication& Recovery" },
      dataclass: { name: "Alert" },
    },
  },
};

// JSON.stringify(CREATE_BODY), written out: the exact bytes SecMaster must receive.
const CREATE_BODY_TEXT =
  '{"command_type":"ActionInstanceRunCommand","action_type":"workflow",' +
  '"action_id":"b3c4d5e6-7f80-4a91-8b2c-3d4e5f607182","action_instance_id":"5f0c2a9e-4b7d-5e1f-8a3c-9d2e6b4f1a07",' +
  '"playbook_context":{"data_object":{"content":{"title":"主机 CPU 使用率过高","severity":"High",' +
  '"ipdrr_phase":"Contain，Eradication& Recovery"},"dataclass":{"name":"Alert"}}}}';

interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Reply = (request: ReceivedRequest, response: ServerResponse) => void;

interface TestServer {
  origin: string;
  received: ReceivedRequest[];
  connections: number;
}

const servers: Server[] = [];
const clients: SecMasterClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** Starts a server on 127.0.0.1 that responds to the n-th request with replies[n] (the last one repeats). */
async function startServer(...replies: Reply[]): Promise<TestServer> {
  const state: TestServer = { origin: "", received: [], connections: 0 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const received = {
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks),
      };
      state.received.push(received);
      const reply = replies[Math.min(state.received.length, replies.length) - 1]!;
      reply(received, response);
    });
  });
  server.on("connection", () => {
    state.connections += 1;
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return (_request, response) => {
    response.writeHead(status, { "content-type": "application/json", ...headers });
    response.end(typeof body === "string" ? body : JSON.stringify(body));
  };
}

const resetConnection: Reply = (_request, response) => {
  response.socket?.destroy();
};

const neverAnswer: Reply = () => {};

const echoCreated: Reply = (request, response) => {
  response.writeHead(200, { "content-type": "application/json", "x-request-id": "req-created-1" });
  response.end(request.body);
};

/** Creates a clock that moves only when the client sleeps, and records the sleeps. */
function fakeClock(startIso: string) {
  let nowMs = Date.parse(startIso);
  const sleepsMs: number[] = [];
  return {
    now: () => new Date(nowMs),
    sleep: (ms: number) => {
      sleepsMs.push(ms);
      nowMs += ms;
      return Promise.resolve();
    },
    sleepsMs,
  };
}

function makeClient(server: TestServer, options: Partial<SecMasterClientOptions> = {}): SecMasterClient {
  const clock = fakeClock("2026-01-15T08:30:00Z");
  const client = new SecMasterClient({
    endpoint: server.origin,
    projectId: PROJECT_ID,
    credentials: { kind: "aksk", accessKey: ACCESS_KEY, secretKey: SECRET_KEY },
    now: clock.now,
    sleep: clock.sleep,
    random: () => 0.5,
    ...options,
  });
  clients.push(client);
  return client;
}

/** Recomputes the signature of a received request from its raw bytes, as a verifier would, and compares. */
function expectValidSignature(request: ReceivedRequest, origin: string): void {
  const authorization = parseAuthorization(String(request.headers.authorization));
  if (authorization === undefined) throw new Error("request has no SDK-HMAC-SHA256 Authorization header");
  const url = new URL(request.url, origin);
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? values[0]! : values;
  }
  const headers: Record<string, string> = {};
  for (const name of authorization.signedHeaders) headers[name] = String(request.headers[name]);
  const parts = computeSignature(
    { method: request.method, url: origin + url.pathname, query, headers, body: request.body },
    SECRET_KEY,
    authorization.signedHeaders,
  );
  expect(authorization.signature).toBe(parts.signature);
}

async function rejectionOf(promise: Promise<unknown>): Promise<SecMasterError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof SecMasterError)) throw new Error(`expected a SecMasterError, got ${String(error)}`);
  return error;
}

const createInput = { workspaceId: WORKSPACE_ID, workflowId: WORKFLOW_ID, body: CREATE_BODY };

describe("SecMasterClient.createWorkflowInstance", () => {
  it("sends the hashed body bytes and a valid signature", async () => {
    const server = await startServer(echoCreated);
    const client = makeClient(server);

    const result = await client.createWorkflowInstance(createInput);

    expect(server.received).toHaveLength(1);
    const request = server.received[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe(INSTANCES_PATH);
    expect(request.body.toString("utf8")).toBe(CREATE_BODY_TEXT);
    expect(request.headers["content-length"]).toBe(String(Buffer.byteLength(CREATE_BODY_TEXT, "utf8")));
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["x-project-id"]).toBe(PROJECT_ID);
    expect(request.headers["x-sdk-date"]).toBe("20260115T083000Z");
    expect(parseAuthorization(String(request.headers.authorization))?.signedHeaders).toEqual([
      "content-type",
      "host",
      "x-project-id",
      "x-sdk-date",
    ]);
    expectValidSignature(request, server.origin);

    expect(result.attempts).toBe(1);
    expect(result.requestId).toBe("req-created-1");
    expect(result.instance.action_instance_id).toBe(INSTANCE_ID);
    expect(result.instance.playbook_context?.data_object?.content).toEqual(CREATE_BODY.playbook_context?.data_object.content);
  });

  it("signs the security token of temporary keys", async () => {
    const server = await startServer(echoCreated);
    const client = makeClient(server, {
      credentials: { kind: "aksk", accessKey: ACCESS_KEY, secretKey: SECRET_KEY, securityToken: SECURITY_TOKEN },
    });

    await client.createWorkflowInstance(createInput);

    const request = server.received[0]!;
    expect(request.headers["x-security-token"]).toBe(SECURITY_TOKEN);
    expect(parseAuthorization(String(request.headers.authorization))?.signedHeaders).toEqual([
      "content-type",
      "host",
      "x-project-id",
      "x-sdk-date",
      "x-security-token",
    ]);
    expectValidSignature(request, server.origin);
  });

  it("sends a token as X-Auth-Token without a signature", async () => {
    const server = await startServer(echoCreated);
    const client = makeClient(server, { credentials: { kind: "token", token: IAM_TOKEN } });

    await client.createWorkflowInstance(createInput);

    const request = server.received[0]!;
    expect(request.headers["x-auth-token"]).toBe(IAM_TOKEN);
    expect(request.headers["x-project-id"]).toBe(PROJECT_ID);
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers["x-sdk-date"]).toBeUndefined();
  });

  it("retries 429 twice and re-signs each attempt", async () => {
    const server = await startServer(
      json(429, { error_code: "APIG.0308", error_msg: "The throttling threshold has been reached" }),
      json(429, { error_code: "APIG.0308", error_msg: "The throttling threshold has been reached" }),
      echoCreated,
    );
    const clock = fakeClock("2026-01-15T08:30:00Z");
    const retries: RetryInfo[] = [];
    const client = makeClient(server, {
      now: clock.now,
      sleep: clock.sleep,
      retry: { baseDelayMs: 2_000 },
      onRetry: (info) => retries.push(info),
    });

    const result = await client.createWorkflowInstance(createInput);

    expect(result.attempts).toBe(3);
    expect(server.received.map((request) => request.headers["x-sdk-date"])).toEqual([
      "20260115T083000Z",
      "20260115T083001Z",
      "20260115T083003Z",
    ]);
    for (const request of server.received) {
      expectValidSignature(request, server.origin);
    }
    expect(clock.sleepsMs).toEqual([1_000, 2_000]);
    expect(retries.map((info) => [info.attempt, info.delayMs, info.operation, info.error.errorCode])).toEqual([
      [1, 1_000, "CreateWorkflowInstance", "APIG.0308"],
      [2, 2_000, "CreateWorkflowInstance", "APIG.0308"],
    ]);
  });

  it("waits the Retry-After seconds", async () => {
    const server = await startServer(json(429, { error_code: "APIG.0308" }, { "retry-after": "3" }), echoCreated);
    const clock = fakeClock("2026-01-15T08:30:00Z");
    const client = makeClient(server, { now: clock.now, sleep: clock.sleep });

    const result = await client.createWorkflowInstance(createInput);

    expect(result.attempts).toBe(2);
    expect(clock.sleepsMs).toEqual([3_000]);
    expect(server.received[1]!.headers["x-sdk-date"]).toBe("20260115T083003Z");
  });

  it("waits until a Retry-After date", async () => {
    const server = await startServer(
      json(503, { code: "SecMaster.20039999", message: "busy" }, { "retry-after": "Thu, 15 Jan 2026 08:30:05 GMT" }),
      echoCreated,
    );
    const clock = fakeClock("2026-01-15T08:30:00Z");
    const client = makeClient(server, { now: clock.now, sleep: clock.sleep });

    await client.createWorkflowInstance(createInput);

    expect(clock.sleepsMs).toEqual([5_000]);
  });

  it("fails at once on 401 APIG.0301", async () => {
    const server = await startServer(
      json(
        401,
        {
          error_code: "APIG.0301",
          error_msg: "Incorrect IAM authentication information: verify aksk signature fail",
          request_id: "body-request-id",
        },
        { "x-request-id": "a1b2c3d4e5f6" },
      ),
      echoCreated,
    );
    const clock = fakeClock("2026-01-15T08:30:00Z");
    const client = makeClient(server, { now: clock.now, sleep: clock.sleep });

    const error = await rejectionOf(client.createWorkflowInstance(createInput));

    expect(server.received).toHaveLength(1);
    expect(clock.sleepsMs).toEqual([]);
    expect(error.code).toBe("BRIDGE.SECMASTER_REJECTED");
    expect(error.httpStatus).toBe(401);
    expect(error.errorCode).toBe("APIG.0301");
    expect(error.errorMessage).toBe("Incorrect IAM authentication information: verify aksk signature fail");
    expect(error.requestId).toBe("a1b2c3d4e5f6");
    expect(error.retryable).toBe(false);
    expect(error.ambiguous).toBe(false);
    expect(error.message).toMatch(
      /^failed to create workflow instance 5f0c2a9e-4b7d-5e1f-8a3c-9d2e6b4f1a07 in workflow b3c4d5e6-7f80-4a91-8b2c-3d4e5f607182: SecMaster returned 401 APIG\.0301/,
    );
    expect(error.message).not.toContain(SECRET_KEY);
  });

  it("names the throttling code in the message", async () => {
    const server = await startServer(json(429, { error_code: "APIG.0308", error_msg: "throttled" }));
    const client = makeClient(server, { retry: { maxAttempts: 1 } });

    const error = await rejectionOf(client.createWorkflowInstance(createInput));

    expect(error.message).toBe(
      "failed to create workflow instance 5f0c2a9e-4b7d-5e1f-8a3c-9d2e6b4f1a07 in workflow " +
        "b3c4d5e6-7f80-4a91-8b2c-3d4e5f607182: SecMaster returned 429 APIG.0308 (throttled); gave up after 1 attempt",
    );
    expect(error.retryable).toBe(true);
  });

  it("reads the code and message body shape of a 500", async () => {
    const server = await startServer(
      json(500, { code: "SecMaster.20039999", message: "unknown error" }, { "x-request-id": "req-500" }),
    );
    const client = makeClient(server, { retry: { maxAttempts: 2 } });

    const error = await rejectionOf(client.createWorkflowInstance(createInput));

    expect(server.received).toHaveLength(2);
    expect(error.httpStatus).toBe(500);
    expect(error.errorCode).toBe("SecMaster.20039999");
    expect(error.errorMessage).toBe("unknown error");
    expect(error.requestId).toBe("req-500");
    expect(error.retryable).toBe(true);
    expect(error.ambiguous).toBe(true);
    expect(error.message).toContain("SecMaster returned 500 SecMaster.20039999 (unknown error)");
    expect(error.message).toContain("gave up after 2 attempts");
  });

  it("stops retrying at the deadline", async () => {
    const server = await startServer(json(503, { error_code: "APIG.0201" }));
    const clock = fakeClock("2026-01-15T08:30:00Z");
    const client = makeClient(server, {
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0.99,
      retry: { maxAttempts: 4, baseDelayMs: 1_000, deadlineMs: 2_500 },
    });

    const error = await rejectionOf(client.createWorkflowInstance(createInput));

    // Attempt 1 at 0 ms, wait 990 ms, attempt 2 at 990 ms; the next wait of 1,980 ms would end past 2,500 ms.
    expect(server.received).toHaveLength(2);
    expect(clock.sleepsMs).toEqual([990]);
    expect(error.httpStatus).toBe(503);
    expect(error.message).toContain("retry deadline of 2500 ms reached after 2 attempts");
  });

  it("reports a connection reset as retryable and ambiguous", async () => {
    const server = await startServer(resetConnection);
    const client = makeClient(server, { retry: { maxAttempts: 1 } });

    const error = await rejectionOf(client.createWorkflowInstance(createInput));

    expect(server.received).toHaveLength(1);
    expect(error.code).toBe("BRIDGE.SECMASTER_UNREACHABLE");
    expect(error.httpStatus).toBe(0);
    expect(error.retryable).toBe(true);
    expect(error.ambiguous).toBe(true);
  });

  it("posts again after a reset and keeps the ambiguity", async () => {
    const server = await startServer(resetConnection, json(429, { error_code: "APIG.0308" }));
    const client = makeClient(server, { retry: { maxAttempts: 2 } });

    const error = await rejectionOf(client.createWorkflowInstance(createInput));

    expect(server.received).toHaveLength(2);
    expect(error.httpStatus).toBe(429);
    expect(error.ambiguous).toBe(true);
  });

  it("does not post again after a reset when told not to", async () => {
    const server = await startServer(resetConnection, echoCreated);
    const client = makeClient(server);

    const error = await rejectionOf(client.createWorkflowInstance(createInput, { repostAfterAmbiguous: false }));

    expect(server.received).toHaveLength(1);
    expect(error.ambiguous).toBe(true);
    expect(error.message).toContain("not posted again because the outcome is unknown");
  });

  it("reports a refused connection as retryable and not ambiguous", async () => {
    const closed = await startServer(echoCreated);
    const origin = closed.origin;
    const server = servers.pop()!;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const client = makeClient({ ...closed, origin }, { retry: { maxAttempts: 1 } });

    const error = await rejectionOf(client.createWorkflowInstance(createInput));

    expect(error.code).toBe("BRIDGE.SECMASTER_UNREACHABLE");
    expect(error.retryable).toBe(true);
    expect(error.ambiguous).toBe(false);
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("times out waiting for response headers", async () => {
    const server = await startServer(neverAnswer);
    const client = makeClient(server, { retry: { maxAttempts: 1 }, timeouts: { headersMs: 200 } });

    const error = await rejectionOf(client.createWorkflowInstance(createInput));

    expect(error.retryable).toBe(true);
    expect(error.ambiguous).toBe(true);
    expect(error.message).toContain("timed out after 200 ms waiting for the response headers");
  });

  it("stops the attempt in flight when the signal aborts", async () => {
    const server = await startServer(neverAnswer);
    const client = makeClient(server);
    const controller = new AbortController();

    const pending = rejectionOf(client.createWorkflowInstance(createInput, { signal: controller.signal }));
    while (server.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    const error = await pending;

    expect(server.received).toHaveLength(1);
    expect(error.message).toContain("aborted by the caller after 1 attempt");
    expect(error.ambiguous).toBe(true);
    expect(error.cause).toBe(controller.signal.reason);
  });

  it("stops retrying when the signal aborts during the wait", async () => {
    const server = await startServer(json(429, { error_code: "APIG.0308" }));
    const controller = new AbortController();
    const client = makeClient(server, {
      sleep: () => {
        controller.abort();
        return Promise.reject(new Error("sleep aborted"));
      },
    });

    const error = await rejectionOf(client.createWorkflowInstance(createInput, { signal: controller.signal }));

    expect(server.received).toHaveLength(1);
    expect(error.message).toContain("aborted by the caller after 1 attempt");
    expect(error.ambiguous).toBe(false);
  });

  it("sends nothing when the signal is already aborted", async () => {
    const server = await startServer(echoCreated);
    const client = makeClient(server);

    const error = await rejectionOf(client.createWorkflowInstance(createInput, { signal: AbortSignal.abort() }));

    expect(server.received).toHaveLength(0);
    expect(error.message).toContain("aborted by the caller before the first attempt");
  });

  it("recognises the duplicate instance answer", async () => {
    const server = await startServer(
      json(400, { code: "SecMaster.20048001", message: `workflow instance ${INSTANCE_ID} already exists` }),
    );
    const client = makeClient(server);

    const error = await rejectionOf(client.createWorkflowInstance(createInput));

    expect(server.received).toHaveLength(1);
    expect(isDuplicateInstanceError(error)).toBe(true);
    expect(error.retryable).toBe(false);
  });

  it("does not take other 400 answers for duplicates", async () => {
    const server = await startServer(json(400, { code: "SecMaster.20030025", message: "data object invalid" }));
    const client = makeClient(server);

    const error = await rejectionOf(client.createWorkflowInstance(createInput));

    expect(isDuplicateInstanceError(error)).toBe(false);
    expect(isDuplicateInstanceError(new Error("SecMaster.20048001"))).toBe(false);
  });

  it("rejects an invalid body before sending", async () => {
    const server = await startServer(echoCreated);
    const client = makeClient(server);
    const body = { ...CREATE_BODY, command_type: "ActionInstanceRetryCommand" } as unknown as CreateWorkflowInstanceRequest;

    await expect(client.createWorkflowInstance({ ...createInput, body })).rejects.toMatchObject({
      code: "BRIDGE.SECMASTER_REQUEST_INVALID",
      field: "body.command_type",
    });
    expect(server.received).toHaveLength(0);
  });

  it.each([
    ["an array", ["not", "an", "object"]],
    ["a string", "content"],
    ["null", null],
  ])("rejects content that is %s before sending", async (_, content) => {
    const server = await startServer(echoCreated);
    const client = makeClient(server);
    const body = { ...CREATE_BODY, playbook_context: { data_object: { ...CREATE_BODY.playbook_context!.data_object, content } } } as unknown as CreateWorkflowInstanceRequest;

    await expect(client.createWorkflowInstance({ ...createInput, body })).rejects.toMatchObject({
      code: "BRIDGE.SECMASTER_REQUEST_INVALID",
      field: "body.playbook_context.data_object.content",
    });
    expect(server.received).toHaveLength(0);
  });

  it("rejects an action_id that differs from the workflow", async () => {
    const server = await startServer(echoCreated);
    const client = makeClient(server);

    await expect(
      client.createWorkflowInstance({ ...createInput, body: { ...CREATE_BODY, action_id: "another-workflow" } }),
    ).rejects.toMatchObject({ code: "BRIDGE.SECMASTER_REQUEST_INVALID", field: "body.action_id" });
    expect(server.received).toHaveLength(0);
  });

  it("rejects a path id that would change the path", async () => {
    const server = await startServer(echoCreated);
    const client = makeClient(server);

    await expect(client.createWorkflowInstance({ ...createInput, workspaceId: "../admin" })).rejects.toMatchObject({
      code: "BRIDGE.SECMASTER_REQUEST_INVALID",
      field: "workspaceId",
    });
    expect(server.received).toHaveLength(0);
  });

  it("fails without retry on a 200 body that is not JSON", async () => {
    const server = await startServer(json(200, "<html>gateway</html>"));
    const client = makeClient(server);

    const error = await rejectionOf(client.createWorkflowInstance(createInput));

    expect(server.received).toHaveLength(1);
    expect(error.httpStatus).toBe(200);
    expect(error.retryable).toBe(false);
    expect(error.ambiguous).toBe(true);
  });

  it("reuses one keep-alive connection", async () => {
    const server = await startServer(echoCreated);
    const client = makeClient(server);

    await client.createWorkflowInstance(createInput);
    // undici marks the connection idle one event-loop turn after the response body ends.
    await new Promise((resolve) => setImmediate(resolve));
    await client.createWorkflowInstance(createInput);

    expect(server.received).toHaveLength(2);
    expect(server.connections).toBe(1);
  });

  it("refuses calls after close", async () => {
    const server = await startServer(echoCreated);
    const client = makeClient(server);
    await client.close();

    await expect(client.createWorkflowInstance(createInput)).rejects.toMatchObject({
      code: "BRIDGE.SECMASTER_CLIENT_CLOSED",
    });
    expect(server.received).toHaveLength(0);
  });
});

describe("SecMasterClient.showWorkflow", () => {
  it("returns the workflow and signs the GET", async () => {
    const server = await startServer(json(200, readFixture("secmaster/show-workflow.json")));
    const client = makeClient(server);

    const workflow = await client.showWorkflow({ workspaceId: WORKSPACE_ID, workflowId: WORKFLOW_ID });

    expect(workflow.id).toBe("b3c4d5e6-7f80-4a91-8b2c-3d4e5f607182");
    expect(workflow.name).toBe("Alert triage");
    expect(workflow.enabled).toBe(true);
    expect(workflow.dataclass_id).toBe("d1c2b3a4-5e6f-4789-a0b1-c2d3e4f5a6b7");
    expect(workflow.dataclass_name).toBe("Alert");
    expect(workflow.version_id).toBe("v-2f3e4d5c");
    expect(workflow.owner_id).toBe("f9e8d7c6b5a4");

    const request = server.received[0]!;
    expect(request.method).toBe("GET");
    expect(request.url).toBe(`/v1/${PROJECT_ID}/workspaces/${WORKSPACE_ID}/soc/workflows/${WORKFLOW_ID}`);
    expect(request.body).toHaveLength(0);
    expect(request.headers["content-type"]).toBe("application/json");
    expectValidSignature(request, server.origin);
  });

  it("reports a body without data as unexpected", async () => {
    const server = await startServer(json(200, { code: "00000000", message: "" }));
    const client = makeClient(server);

    const error = await rejectionOf(client.showWorkflow({ workspaceId: WORKSPACE_ID, workflowId: WORKFLOW_ID }));

    expect(error.message).toMatch(/^failed to show workflow b3c4d5e6-7f80-4a91-8b2c-3d4e5f607182 in workspace .*unexpected body \(data: /);
    expect(error.retryable).toBe(false);
    expect(error.ambiguous).toBe(false);
  });

  it("retries a 502 on the GET", async () => {
    const server = await startServer(json(502, "bad gateway"), json(200, readFixture("secmaster/show-workflow.json")));
    const client = makeClient(server);

    const workflow = await client.showWorkflow({ workspaceId: WORKSPACE_ID, workflowId: WORKFLOW_ID });

    expect(workflow.dataclass_name).toBe("Alert");
    expect(server.received).toHaveLength(2);
  });
});

describe("SecMasterClient.listWorkflowInstances", () => {
  it("sends the query and parses the instances", async () => {
    const server = await startServer(json(200, readFixture("secmaster/list-workflow-instances.json")));
    const client = makeClient(server);

    const list = await client.listWorkflowInstances({
      workspaceId: WORKSPACE_ID,
      query: { id: INSTANCE_ID, workflow_id: WORKFLOW_ID, offset: 0, limit: 10, name: "Alert triage 告警" },
    });

    expect(list.count).toBe(1);
    expect(list.instances).toHaveLength(1);
    expect(list.instances[0]!.id).toBe("5f0c2a9e-4b7d-5e1f-8a3c-9d2e6b4f1a07");
    expect(list.instances[0]!.status).toBe("RUNNING");
    expect(list.instances[0]!.workflow?.version_id).toBe("v-2f3e4d5c");
    expect(list.instances[0]!.end_time).toBeNull();

    const request = server.received[0]!;
    expect(request.url).toBe(
      `/v1/${PROJECT_ID}/workspaces/${WORKSPACE_ID}/soc/workflows/instances` +
        `?id=${INSTANCE_ID}&limit=10&name=Alert%20triage%20%E5%91%8A%E8%AD%A6&offset=0&workflow_id=${WORKFLOW_ID}`,
    );
    expectValidSignature(request, server.origin);
  });

  it("reads a missing instance list as empty", async () => {
    const server = await startServer(json(200, { count: 0 }));
    const client = makeClient(server);

    const list = await client.listWorkflowInstances({ workspaceId: WORKSPACE_ID });

    expect(list).toEqual({ count: 0, instances: [] });
    expect(server.received[0]!.url).toBe(`/v1/${PROJECT_ID}/workspaces/${WORKSPACE_ID}/soc/workflows/instances`);
  });

  it("rejects an unknown query parameter", async () => {
    const server = await startServer(json(200, { count: 0 }));
    const client = makeClient(server);
    const query = { limit: 10, sortby: "create_time" } as unknown as { limit: number };

    await expect(client.listWorkflowInstances({ workspaceId: WORKSPACE_ID, query })).rejects.toMatchObject({
      code: "BRIDGE.SECMASTER_REQUEST_INVALID",
    });
    expect(server.received).toHaveLength(0);
  });
});

describe("SecMasterClient options", () => {
  it("lists every invalid option without secrets", () => {
    let error: unknown;
    try {
      new SecMasterClient({
        region: "cn-north-99",
        projectId: "",
        credentials: { kind: "aksk", accessKey: "", secretKey: SECRET_KEY },
        retry: { maxAttempts: 0 },
      });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.code).toBe("BRIDGE.CONFIG_INVALID");
    expect(configError.issues).toHaveLength(4);
    expect(configError.issues[0]).toContain('unknown SecMaster region "cn-north-99"');
    expect(configError.issues.some((issue) => issue.startsWith("SecMaster client option credentials.accessKey"))).toBe(true);
    expect(configError.issues.some((issue) => issue.startsWith("SecMaster client option retry.maxAttempts"))).toBe(true);
    expect(configError.message).not.toContain(SECRET_KEY);
  });

  it("refuses plain http to a non-loopback host before connecting", () => {
    expect(
      () =>
        new SecMasterClient({
          endpoint: "http://secmaster.cn-north-4.myhuaweicloud.com",
          projectId: PROJECT_ID,
          credentials: { kind: "token", token: IAM_TOKEN },
        }),
    ).toThrow(ConfigError);
  });

  it("derives the endpoint from the region", async () => {
    const client = new SecMasterClient({
      region: "ap-southeast-3",
      projectId: PROJECT_ID,
      credentials: { kind: "token", token: IAM_TOKEN },
    });
    clients.push(client);

    expect(client.endpoint.url).toBe("https://secmaster.ap-southeast-3.myhuaweicloud.com");
    await client.close();
  });
});
