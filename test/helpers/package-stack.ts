import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { inflateRawSync } from "node:zlib";

const run = promisify(execFile);

/** A packaged stack: the CloudFormation template and the folder with one zip per function. */
export interface PackagedStack {
  dir: string;
  template: { Resources: Record<string, { Type: string; Properties?: any; DependsOn?: unknown }>; Outputs?: Record<string, any> };
}

/** Files of the repository that packaging reads; node_modules is linked, not copied. */
const SERVICE_FILES = ["serverless.yml", "package.json", "tsconfig.json", "infra", "functions", "lib", "config", "test/fixtures"];

/**
 * Runs `osls package` offline for stage `ci` into a fresh temporary folder, with the environment
 * `npm run package` uses so osls neither sends telemetry nor looks for AWS credentials. The
 * service is copied to a folder of its own first, because osls and serverless-esbuild build in
 * the service folder and two packagings there at once would overwrite each other.
 *
 * @throws the failed command's error, whose `stdout` and `stderr` contain the reason.
 */
export async function packageStack(params: Record<string, string>): Promise<PackagedStack> {
  const serviceDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-service-"));
  const dir = mkdtempSync(join(tmpdir(), "secmaster-bridge-package-"));
  try {
    for (const path of SERVICE_FILES) cpSync(path, join(serviceDir, path), { recursive: true });
    symlinkSync(join(process.cwd(), "node_modules"), join(serviceDir, "node_modules"), "dir");
    const args = ["osls", "package", "--stage", "ci", "--package", dir, ...Object.entries(params).map(([name, value]) => `--param=${name}=${value}`)];
    await run("npx", args, {
      cwd: serviceDir,
      env: { ...process.env, SLS_TELEMETRY_DISABLED: "1", SLS_NOTIFICATIONS_MODE: "off", AWS_EC2_METADATA_DISABLED: "true" },
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(serviceDir, { recursive: true, force: true });
  }
  const template = JSON.parse(readFileSync(join(dir, "cloudformation-template-update-stack.json"), "utf8")) as PackagedStack["template"];
  return { dir, template };
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  localHeaderOffset: number;
}

/** Reads the central directory of a zip archive. */
function zipEntries(zip: Buffer): ZipEntry[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let index = 0; index < count; index++) {
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      name: zip.subarray(offset + 46, offset + 46 + nameLength).toString("utf8"),
      method: zip.readUInt16LE(offset + 10),
      compressedSize: zip.readUInt32LE(offset + 20),
      localHeaderOffset: zip.readUInt32LE(offset + 42),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Lists the file names in a zip archive. */
export function zipEntryNames(path: string): string[] {
  return zipEntries(readFileSync(path)).map((entry) => entry.name);
}

/** Reads one file of a zip archive with stored or deflated entries. */
export function readZipEntry(path: string, name: string): string {
  const zip = readFileSync(path);
  const entry = zipEntries(zip).find((candidate) => candidate.name === name);
  if (entry === undefined) throw new Error(`${name} is not in ${path}`);
  const start = entry.localHeaderOffset + 30 + zip.readUInt16LE(entry.localHeaderOffset + 26) + zip.readUInt16LE(entry.localHeaderOffset + 28);
  const data = zip.subarray(start, start + entry.compressedSize);
  return (entry.method === 8 ? inflateRawSync(data) : data).toString("utf8");
}
