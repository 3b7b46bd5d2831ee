/**
 * A stand-in server in its own process, so that a benchmark's client and server do not share
 * one event loop: `node --import tsx bench/server-process.ts emulator|dynalite`.
 *
 * It listens on 127.0.0.1 on a free port, writes `{"url": …}` as one JSON line to stdout, and
 * stops when its stdin closes, which also happens when the parent process dies. The emulator
 * accepts the key pair in `BENCH_ACCESS_KEY` and `BENCH_SECRET_KEY`.
 */
import { startDynalite } from "../lib/local/dynamodb";
import { startEmulator } from "../lib/local/emulator";
import { BENCH_IDS } from "./ids";

async function start(kind: string | undefined): Promise<{ url: string; close(): Promise<void> }> {
  if (kind === "dynalite") {
    const dynamodb = await startDynalite();
    return { url: dynamodb.endpoint, close: () => dynamodb.close() };
  }
  if (kind === "emulator") {
    const accessKey = process.env.BENCH_ACCESS_KEY;
    const secretKey = process.env.BENCH_SECRET_KEY;
    if (accessKey === undefined || secretKey === undefined) throw new Error("set BENCH_ACCESS_KEY and BENCH_SECRET_KEY");
    const emulator = await startEmulator({
      port: 0,
      projectId: BENCH_IDS.projectId,
      credentials: [{ accessKey, secretKey }],
      workspaces: [
        {
          workspaceId: BENCH_IDS.workspaceId,
          workflows: [{ id: BENCH_IDS.workflowId, name: "Benchmark workflow", dataclassId: BENCH_IDS.dataclassId, dataclassName: "Alert" }],
        },
      ],
    });
    return { url: emulator.url, close: () => emulator.close() };
  }
  throw new Error(`unknown server kind ${JSON.stringify(kind)}; use emulator or dynalite`);
}

const server = await start(process.argv[2]);
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.stdin.resume();
process.stdin.on("end", () => {
  void server.close().finally(() => process.exit(0));
});
