/**
 * Runs the local bridge in its own process for the crash tests: it reads its settings from the
 * environment, writes one JSON line with its URLs to stdout once it listens, and runs until killed.
 */
import { startLocalBridge } from "../../lib/local/bridge";

const bridge = await startLocalBridge({ port: 0, emulatorPort: 0 });
process.stdout.write(`${JSON.stringify({ url: bridge.url, emulatorUrl: bridge.emulator?.url })}\n`);
setInterval(() => undefined, 60_000);
