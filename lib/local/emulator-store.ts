import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import { BridgeError } from "../errors";
import type { EmulatorLogger, StoredInstance } from "./emulator-types";

/** File name of the instance log inside `dataDir`. */
export const INSTANCES_FILE = "emulator-instances.jsonl";

const storedInstanceSchema = z.object({
  project_id: z.string(),
  workspace_id: z.string(),
  workflow_id: z.string(),
  received_at: z.string(),
  request: z.unknown(),
  instance_id: z.string(),
});

/**
 * Stored workflow instances, unique per workspace and instance id, in arrival order.
 *
 * With a data folder every instance is appended as one JSON line before it counts as stored,
 * so a restarted emulator still rejects duplicates. Appends are synchronous, which keeps the
 * file in arrival order and the emulator simple at the cost of blocking on each write.
 */
export class InstanceStore {
  private readonly byKey = new Map<string, StoredInstance>();
  private readonly ordered: StoredInstance[] = [];
  private readonly filePath: string | undefined;

  /**
   * Opens the store, loading `emulator-instances.jsonl` from `dataDir` when one is given.
   *
   * @throws BridgeError `BRIDGE.EMULATOR_STATE_INVALID` when a line other than the last one is
   *   not a stored instance. A broken last line is a write cut short by a crash: it is dropped
   *   with a warning and the file rewritten without it.
   */
  constructor(dataDir: string | undefined, logger: EmulatorLogger) {
    if (dataDir === undefined) return;

    mkdirSync(dataDir, { recursive: true });
    this.filePath = join(dataDir, INSTANCES_FILE);
    if (!existsSync(this.filePath)) return;

    const lines = readFileSync(this.filePath, "utf8").split("\n");
    const lastIndex = lines.findLastIndex((line) => line.trim() !== "");
    let dropTornLine = false;

    lines.forEach((line, index) => {
      if (line.trim() === "") return;
      const instance = parseLine(line);
      if (instance !== undefined) {
        if (this.find(instance.workspace_id, instance.instance_id) === undefined) this.remember(instance);
        return;
      }
      if (index === lastIndex) {
        dropTornLine = true;
        return;
      }
      throw new BridgeError(
        "BRIDGE.EMULATOR_STATE_INVALID",
        `failed to load emulator instances: line ${index + 1} of ${this.filePath} is not a stored instance; ` +
          "fix or delete the file",
      );
    });

    if (dropTornLine) {
      logger.warn("dropped an incomplete last line from the emulator instance file", { file: this.filePath });
      this.rewrite();
    }
  }

  find(workspaceId: string, instanceId: string): StoredInstance | undefined {
    return this.byKey.get(storeKey(workspaceId, instanceId));
  }

  /** Stores an instance, on disk first. The caller has checked that it is not a duplicate. */
  add(instance: StoredInstance): void {
    if (this.filePath !== undefined) appendFileSync(this.filePath, `${JSON.stringify(instance)}\n`);
    this.remember(instance);
  }

  all(): StoredInstance[] {
    return [...this.ordered];
  }

  /** Deletes every instance, replacing the file atomically with an empty one. */
  clear(): void {
    this.byKey.clear();
    this.ordered.length = 0;
    if (this.filePath !== undefined) this.rewrite();
  }

  private remember(instance: StoredInstance): void {
    this.byKey.set(storeKey(instance.workspace_id, instance.instance_id), instance);
    this.ordered.push(instance);
  }

  // Writes the in-memory instances to a temporary file and renames it over the log.
  private rewrite(): void {
    const filePath = this.filePath!;
    const temporaryPath = `${filePath}.${process.pid}.tmp`;
    writeFileSync(temporaryPath, this.ordered.map((instance) => `${JSON.stringify(instance)}\n`).join(""));
    renameSync(temporaryPath, filePath);
  }
}

function parseLine(line: string): StoredInstance | undefined {
  try {
    const result = storedInstanceSchema.safeParse(JSON.parse(line));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

function storeKey(workspaceId: string, instanceId: string): string {
  return `${workspaceId}\u0000${instanceId}`;
}
