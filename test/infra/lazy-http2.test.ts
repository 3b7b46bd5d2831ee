import { once } from "node:events";
import { readFileSync } from "node:fs";
import { constants as http2Constants, createServer, type ClientHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

interface LazyHttp2 {
  constants: Record<string, string | number>;
  connect: (authority: string) => ClientHttp2Session;
}

const shim = createRequire(import.meta.url)("../../infra/shims/lazy-http2.cjs") as LazyHttp2;

describe("lazy node:http2 stand-in for undici", () => {
  it("matches node:http2's constants", () => {
    const names = Object.keys(shim.constants);

    // The ten constants undici's client-h2.js reads at import.
    expect(names.sort()).toEqual([
      "HTTP2_HEADER_AUTHORITY",
      "HTTP2_HEADER_CONTENT_LENGTH",
      "HTTP2_HEADER_EXPECT",
      "HTTP2_HEADER_METHOD",
      "HTTP2_HEADER_PATH",
      "HTTP2_HEADER_PROTOCOL",
      "HTTP2_HEADER_SCHEME",
      "HTTP2_HEADER_STATUS",
      "NGHTTP2_CANCEL",
      "NGHTTP2_REFUSED_STREAM",
    ]);
    for (const name of names) expect([name, shim.constants[name]]).toEqual([name, (http2Constants as Record<string, unknown>)[name]]);
  });

  it("covers what undici's HTTP/2 client reads", () => {
    const source = readFileSync(createRequire(import.meta.url).resolve("undici/lib/dispatcher/client-h2.js"), "utf8");
    const destructured = /const \{\s*constants: \{([^}]*)\}\s*\} = http2/.exec(source);
    const members = new Set([...source.matchAll(/\bhttp2\.(\w+)/g)].map((match) => match[1]!));

    // A new constant or function in an undici upgrade fails here instead of reading undefined.
    expect(destructured).not.toBeNull();
    const names = destructured![1]!.split(",").map((name) => name.trim()).filter((name) => name !== "");
    expect(names).toHaveLength(10);
    expect(names.filter((name) => !(name in shim.constants))).toEqual([]);
    expect([...members].filter((member) => !(member in shim))).toEqual([]);
  });

  it("connects through the real module", async () => {
    const server = createServer((request, response) => response.end(`answered ${request.headers[":path"]}`));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const session = shim.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const stream = session.request({ ":path": "/probe" });
      let body = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => (body += chunk));
      await once(stream, "end");

      expect(body).toBe("answered /probe");
    } finally {
      session.close();
      server.close();
    }
  });
});
