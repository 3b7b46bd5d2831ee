import { Agent, request as httpRequest, type IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalHttpServer, type LocalHttpServer } from "../../lib/local/http-server";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("local HTTP server routes", () => {
  let server: LocalHttpServer;
  const sources: string[] = [];

  beforeAll(async () => {
    server = await startLocalHttpServer({
      port: 0,
      maxReadBytes: 1024,
      ingest: (event) => {
        sources.push(event.pathParameters?.source ?? "");
        return Promise.resolve({ statusCode: 202, headers: { "content-type": "application/json" }, body: '{"results":[]}' });
      },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it.each(["GET", "PUT", "DELETE"])("%s on an alerts URL gets 405", async (method) => {
    const response = await fetch(`${server.url}/v1/alerts/splunk`, { method });
    const body = (await response.json()) as Record<string, unknown>;

    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(body.code).toBe("BRIDGE.METHOD_NOT_ALLOWED");
    expect(body.type).toBe("urn:secmaster-bridge:problem:method-not-allowed");
    expect(body.title).toBe("Method Not Allowed");
    expect(body.status).toBe(405);
    expect(body.detail).toBe(`${method} is not allowed on /v1/alerts/splunk`);
    expect(body.fix).toBe("post alerts with POST; GET /healthz checks the server");
    expect(body.field).toBe("method");
    expect(body.instance).toMatch(UUID);
    expect(sources).toEqual([]);
  });

  it.each(["POST", "PUT", "DELETE"])("%s on /healthz gets 405", async (method) => {
    const response = await fetch(`${server.url}/healthz`, { method });
    const body = (await response.json()) as Record<string, unknown>;

    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET");
    expect(body.code).toBe("BRIDGE.METHOD_NOT_ALLOWED");
    expect(body.detail).toBe(`${method} is not allowed on /healthz`);
    expect(body.fix).toBe("check the server with GET /healthz; post alerts to /v1/alerts/{source}");
    expect(body.field).toBe("method");
    expect(body.instance).toMatch(UUID);
  });

  it("POST reaches the ingest handler", async () => {
    const response = await fetch(`${server.url}/v1/alerts/splunk`, { method: "POST", body: "{}" });

    expect(response.status).toBe(202);
    expect(sources).toEqual(["splunk"]);
  });

  it("unknown path gets 404", async () => {
    const response = await fetch(`${server.url}/v1/alert/splunk`, { method: "POST", body: "{}" });
    const body = (await response.json()) as Record<string, unknown>;

    expect(response.status).toBe(404);
    expect(response.headers.get("allow")).toBeNull();
    expect(body.code).toBe("BRIDGE.ROUTE_NOT_FOUND");
    expect(body.field).toBe("path");
    expect(body.instance).toMatch(UUID);
  });

  it("health check answers GET", async () => {
    const response = await fetch(`${server.url}/healthz`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });
});

/**
 * Starts a server whose ingest handler holds each delivery until `release` is called, and returns
 * whether a delivery has reached it. A release sends 200 with an empty result list.
 */
async function startHoldingServer(options: { closeGraceMs?: number } = {}) {
  const state = { invoked: false, release: () => undefined as void };
  const server = await startLocalHttpServer({
    port: 0,
    maxReadBytes: 1024,
    ...options,
    ingest: () => {
      state.invoked = true;
      return new Promise((resolve) => {
        state.release = () => resolve({ statusCode: 200, headers: { "content-type": "application/json" }, body: '{"results":[]}' });
      });
    },
  });
  return { server, state };
}

describe("local HTTP server close", () => {
  it("responds to a delivery in flight first", async () => {
    const { server, state } = await startHoldingServer();
    const agent = new Agent({ keepAlive: true });
    const pending = new Promise<IncomingMessage>((resolve, reject) => {
      const request = httpRequest(`${server.url}/v1/alerts/splunk`, { method: "POST", agent }, resolve);
      request.on("error", reject);
      request.end("{}");
    });
    await expect.poll(() => state.invoked).toBe(true);

    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closedBeforeResponse = closed;
    state.release();
    const response = await pending;
    response.resume();
    await closing;
    agent.destroy();

    // The server used to cut the connection at once, so the sender got no response.
    expect(closedBeforeResponse).toBe(false);
    expect(response.statusCode).toBe(200);
    // The connection takes no further request.
    expect(response.headers.connection).toBe("close");
    expect(closed).toBe(true);
  });

  it("lets a second close wait for the first", async () => {
    const { server, state } = await startHoldingServer();
    const pending = fetch(`${server.url}/v1/alerts/splunk`, { method: "POST", body: "{}" });
    await expect.poll(() => state.invoked).toBe(true);

    const first = server.close();
    const second = server.close();
    state.release();

    expect((await pending).status).toBe(200);
    expect(second).toBe(first);
    await second;
  });

  it("cuts a delivery that outlasts the grace", async () => {
    const { server, state } = await startHoldingServer({ closeGraceMs: 100 });
    const pending = fetch(`${server.url}/v1/alerts/splunk`, { method: "POST", body: "{}" }).then(
      () => "responded",
      () => "connection closed",
    );
    await expect.poll(() => state.invoked).toBe(true);

    await server.close();

    expect(await pending).toBe("connection closed");
  });
});
