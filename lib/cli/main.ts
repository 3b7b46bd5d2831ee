import { existsSync, readFileSync } from "node:fs";
import { SEVERITIES, type Severity } from "../alert/schema";
import { setDefaultCredentialsProvider } from "../aws/client";
import { sdkCredentialChain } from "../aws/sdk-credentials";
import { createInstanceBody } from "../delivery/job";
import { editDistance, isNearMiss } from "../edit-distance";
import { BridgeError } from "../errors";
import { planDelivery } from "../ingest";
import { logger } from "../logger";
import { EMULATOR_DEFAULTS } from "../local/bridge";
import { parseFaults, startEmulator } from "../local/emulator";
import { BUILT_IN_SOURCES } from "../sources/index";
import { CliUsageError, parseCommandArgs } from "./args";
import { reportCliError } from "./errors";
import { REDRIVE_USAGE, REPLAY_USAGE, redriveCommand, replayCommand } from "./queue";
import { ROUTES_USAGE, routesCommand } from "./routes";
import { SCHEDULE_USAGE, scheduleCommand } from "./schedule";
import { cliSourceOptions, findCliSource, parseDeliveryText } from "./sources";
// Registers the YAML parser, so routing and schedules files may be YAML.
import "../routing/yaml";

const NORMALIZE_USAGE = `  normalize --source SOURCE FILE   Print the CreateWorkflowInstance bodies a delivery would produce,
                                   without sending anything.
      --workflow-id ID             Workflow to address (default: SECMASTER_WORKFLOW_ID or the emulator's).
      --mapping FILE               Mapping file of a generic JSON source, repeatable (default: the
                                   files of BRIDGE_GENERIC_MAPPINGS).
      --received-at TIME           Receipt time to use, RFC 3339 (default: now).
      --options JSON               Settings of the source (default: its entry in BRIDGE_SOURCE_OPTIONS).
                                   FILE holds the JSON body the sender posts, or raw CEF lines for a
                                   generic source in the cef format.`;

const EMULATOR_USAGE = `  emulator                         Run the SecMaster emulator alone on 127.0.0.1. Requires
                                   SECMASTER_AK and SECMASTER_SK, the key pair it accepts.
      --port PORT                  Port (default: SECMASTER_EMULATOR_PORT or 9400).
      --data-dir DIR               Where stored instances persist (default: BRIDGE_DATA_DIR or .data).`;

const USAGE = `Usage: secmaster-bridge <command> [options]

Commands:
${NORMALIZE_USAGE}
${EMULATOR_USAGE}
${ROUTES_USAGE}
${SCHEDULE_USAGE}
${REDRIVE_USAGE}
${REPLAY_USAGE}
  help [COMMAND]                   Show this text, or the options of one command (as COMMAND --help).
  --version                        Print the version of secmaster-bridge.

Sources: ${Object.keys(BUILT_IN_SOURCES).sort().join(", ")}`;

/** Usage text of each command, printed with `--help` and after a command line it cannot run. */
const COMMAND_USAGE: Record<string, string> = {
  normalize: NORMALIZE_USAGE,
  emulator: EMULATOR_USAGE,
  routes: ROUTES_USAGE,
  schedule: SCHEDULE_USAGE,
  redrive: REDRIVE_USAGE,
  replay: REPLAY_USAGE,
};

type CliStreams = { out: NodeJS.WritableStream; err: NodeJS.WritableStream };
type Env = Readonly<Record<string, string | undefined>>;

/** Runs one CLI command and returns the process exit code: 0 on success, 1 on failure, 2 for a wrong command line. */
export async function runCli(argv: string[], io: CliStreams = { out: process.stdout, err: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  const usage = command === undefined ? undefined : COMMAND_USAGE[command];
  if (usage !== undefined && asksForHelp(rest)) {
    io.out.write(`Usage:\n${usage}\n`);
    return 0;
  }
  try {
    return await runCommand(command, rest, io);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    io.err.write(`${error.message}\n\nUsage:\n${usage ?? USAGE}\n`);
    return 2;
  }
}

async function runCommand(command: string | undefined, rest: string[], io: CliStreams): Promise<number> {
  switch (command) {
    case "normalize":
      return normalizeCommand(rest, io, process.env);
    case "emulator":
      return emulatorCommand(rest, io);
    case "routes":
      return routesCommand(rest, io);
    case "schedule":
      return scheduleCommand(rest, io);
    case "redrive":
      return redriveCommand(rest, io);
    case "replay":
      return replayCommand(rest, io);
    case "--version":
    case "-v":
      io.out.write(`${packageVersion()}\n`);
      return 0;
    case "help":
      return helpCommand(rest, io);
    case undefined:
    case "--help":
    case "-h":
      io.out.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      return unknownCommand(command, io);
  }
}

/** Names of the commands, in the order of the usage text. */
const COMMAND_NAMES = [...Object.keys(COMMAND_USAGE), "help"];

// Writes one line instead of the whole usage, because a typo is the usual cause. The line names
// the closest command when one is a near miss, else it lists the commands.
function unknownCommand(command: string, io: CliStreams): number {
  const nearMisses = COMMAND_NAMES.filter((name) => isNearMiss(command, name));
  nearMisses.sort((left, right) => editDistance(command, left) - editDistance(command, right));
  const likely = nearMisses[0];
  const hint = likely === undefined ? `the commands are ${COMMAND_NAMES.slice(0, -1).join(", ")} and ${COMMAND_NAMES.at(-1)}.` : `did you mean ${JSON.stringify(likely)}?`;
  io.err.write(`unknown command ${JSON.stringify(command)}; ${hint} Run secmaster-bridge help for the usage.\n`);
  return 2;
}

// `help` prints the general usage, and `help COMMAND` the usage of that command, as `COMMAND --help` does.
function helpCommand(args: string[], io: CliStreams): number {
  const [command] = args;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    io.out.write(`${USAGE}\n`);
    return 0;
  }
  const usage = COMMAND_USAGE[command];
  if (usage === undefined) return unknownCommand(command, io);
  io.out.write(`Usage:\n${usage}\n`);
  return 0;
}

// `--help` or `-h` before the `--` that ends the options.
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return manifest.version;
}

function normalizeCommand(args: string[], io: CliStreams, env: Env): number {
  const { values, positionals } = parseCommandArgs("normalize", {
    args,
    allowPositionals: true,
    options: {
      source: { type: "string" },
      "workflow-id": { type: "string" },
      mapping: { type: "string", multiple: true },
      "received-at": { type: "string" },
      "default-severity": { type: "string" },
      options: { type: "string" },
    },
  });
  const file = positionals[0];
  if (values.source === undefined || file === undefined) {
    io.err.write("normalize needs --source SOURCE and a FILE\n");
    return 2;
  }
  const severity = (values["default-severity"] ?? "Medium") as Severity;
  if (!(SEVERITIES as readonly string[]).includes(severity)) {
    io.err.write(`--default-severity must be one of ${SEVERITIES.join(", ")}\n`);
    return 2;
  }
  try {
    const source = findCliSource(values.source, values.mapping, env, io.err);
    if (source === undefined) return 2;
    const { adapter, genericSources } = source;
    const receivedAt = values["received-at"] === undefined ? new Date() : new Date(values["received-at"]);
    const workflowId = values["workflow-id"] ?? env.SECMASTER_WORKFLOW_ID ?? EMULATOR_DEFAULTS.workflowId;
    const plans = planDelivery(
      { adapter, body: parseDeliveryText(readDeliveryFile(file), file, adapter), receivedAt, options: cliSourceOptions(adapter.id, values.options, genericSources, env) },
      {
        defaultSeverity: severity,
        target: {
          projectId: env.SECMASTER_PROJECT_ID ?? EMULATOR_DEFAULTS.projectId,
          workspaceId: env.SECMASTER_WORKSPACE_ID ?? EMULATOR_DEFAULTS.workspaceId,
          workflowId,
          dataclass: cliDataclass(env),
        },
      },
    );
    for (const plan of plans.filter((item) => item.skipReason !== undefined)) {
      io.err.write(`skipped ${plan.job.actionInstanceId}: ${plan.skipReason}\n`);
    }
    const bodies = plans.filter((plan) => plan.skipReason === undefined).map((plan) => createInstanceBody(plan.job));
    io.out.write(`${JSON.stringify(bodies, null, 2)}\n`);
    return 0;
  } catch (error) {
    return reportCliError(error, io);
  }
}

async function emulatorCommand(args: string[], io: CliStreams): Promise<number> {
  const { values } = parseCommandArgs("emulator", { args, options: { port: { type: "string" }, "data-dir": { type: "string" } } });
  const accessKey = process.env.SECMASTER_AK;
  const secretKey = process.env.SECMASTER_SK;
  if (accessKey === undefined || secretKey === undefined) {
    io.err.write("set SECMASTER_AK and SECMASTER_SK to the key pair the emulator should accept\n");
    return 2;
  }
  const emulator = await startEmulator({
    port: Number(values.port ?? process.env.SECMASTER_EMULATOR_PORT ?? 9400),
    projectId: process.env.SECMASTER_PROJECT_ID ?? EMULATOR_DEFAULTS.projectId,
    credentials: [{ accessKey, secretKey }],
    workspaces: [
      {
        workspaceId: process.env.SECMASTER_WORKSPACE_ID ?? EMULATOR_DEFAULTS.workspaceId,
        workflows: [
          {
            id: process.env.SECMASTER_WORKFLOW_ID ?? EMULATOR_DEFAULTS.workflowId,
            name: EMULATOR_DEFAULTS.workflowName,
            dataclassId: EMULATOR_DEFAULTS.dataclassId,
            dataclassName: EMULATOR_DEFAULTS.dataclassName,
          },
        ],
      },
    ],
    dataDir: values["data-dir"] ?? process.env.BRIDGE_DATA_DIR ?? ".data",
    ...(process.env.SECMASTER_EMULATOR_FAULTS === undefined ? {} : { faults: parseFaults(process.env.SECMASTER_EMULATOR_FAULTS) }),
  });
  io.out.write(`SecMaster emulator listening on ${emulator.url} (instances: ${emulator.url}/_emulator/instances)\n`);
  await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  await emulator.close();
  return 0;
}

if (process.argv[1] !== undefined && /secmaster-bridge(\.js)?$|cli\/main\.ts$/.test(process.argv[1])) {
  // The settings of `npm start` in ./.env apply to the commands too, so that they plan with the
  // same routing, mappings and schedules. Variables set in the shell take precedence.
  if (existsSync(".env")) process.loadEnvFile(".env");
  // Log lines go to stderr, so that stdout carries only the command's output and can be piped.
  logger.writeLinesTo(process.stderr);
  // On a laptop, AWS calls take credentials from profiles and SSO as the AWS CLI does.
  setDefaultCredentialsProvider(sdkCredentialChain());
  process.exitCode = await runCli(process.argv.slice(2));
}

// The data class `npm start` sends: the configured one, or the emulator's when nothing is configured.
function cliDataclass(env: Env): { id?: string; name: string } {
  const name = env.SECMASTER_DATACLASS_NAME ?? EMULATOR_DEFAULTS.dataclassName;
  const id = env.SECMASTER_DATACLASS_ID ?? (env.SECMASTER_WORKFLOW_ID === undefined ? EMULATOR_DEFAULTS.dataclassId : undefined);
  return id === undefined ? { name } : { id, name };
}

function readDeliveryFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new BridgeError("BRIDGE.FILE_UNREADABLE", `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      cause: error,
      fix: "pass the path of a saved delivery (a JSON file)",
    });
  }
}
