import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const FIXTURES_DIR = fileURLToPath(new URL("../fixtures/", import.meta.url));

/** Reads a fixture file under `test/fixtures/` as text. */
export function readFixture(relativePath: string): string {
  return readFileSync(FIXTURES_DIR + relativePath, "utf8");
}

/** Reads and parses a JSON fixture under `test/fixtures/`. */
export function readJsonFixture<T = unknown>(relativePath: string): T {
  return JSON.parse(readFixture(relativePath)) as T;
}
