import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalBridge, type LocalBridge, type LocalBridgeOptions } from "../../lib/local/bridge";

/**
 * Starts a local bridge on free ports with a fresh data folder that is removed on close. It runs
 * in direct mode unless `options.env` sets `BRIDGE_MODE`, so responses carry the start results.
 */
export async function startTestBridge(options: LocalBridgeOptions = {}): Promise<LocalBridge> {
  const dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-test-"));
  const env = { BRIDGE_MODE: "direct", ...options.env };
  const bridge = await startLocalBridge({ port: 0, emulatorPort: 0, dataDir, ...options, env });
  return {
    ...bridge,
    close: async () => {
      await bridge.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Posts a body to the bridge and returns status, content type and parsed JSON. */
export async function postAlerts(
  baseUrl: string,
  source: string,
  body: string,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<{ status: number; contentType: string; json: any }> {
  const response = await fetch(`${baseUrl}/v1/alerts/${source}`, { method: "POST", headers, body });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", json: text === "" ? undefined : JSON.parse(text) };
}
