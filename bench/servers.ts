import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const REPOSITORY_ROOT = fileURLToPath(new URL("..", import.meta.url));

// /proc reports CPU time in clock ticks of USER_HZ, which is 100 per second on x86 and Arm Linux.
const CLOCK_TICKS_PER_SECOND = 100;

/** A server running in a child process. */
export interface ServerProcess {
  url: string;
  pid: number;
  /** CPU time the process used so far in seconds, or undefined where `/proc` is missing. */
  cpuSeconds(): number | undefined;
  close(): Promise<void>;
}

/**
 * Starts `bench/server-process.ts` in a child process and resolves with its URL once it listens.
 * The child stops when this process closes its stdin.
 */
export async function startServerProcess(kind: "emulator" | "dynalite", env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/server-process.ts", kind], {
    cwd: REPOSITORY_ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: "SILENT" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the ${kind} process exited with code ${code} before it listened`)));
    lines.once("line", (line) => resolve((JSON.parse(line) as { url: string }).url));
  });
  lines.close();
  const pid = child.pid!;
  return {
    url,
    pid,
    cpuSeconds: () => processCpuSeconds(pid),
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** Reads user plus system CPU time of a process from `/proc/<pid>/stat`, in seconds. */
export function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name in brackets may contain spaces, so the fields are counted after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  return (userTicks + systemTicks) / CLOCK_TICKS_PER_SECOND;
}
