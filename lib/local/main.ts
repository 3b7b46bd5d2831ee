import { existsSync } from "node:fs";
import { setDefaultCredentialsProvider } from "../aws/client";
import { sdkCredentialChain } from "../aws/sdk-credentials";
import { BridgeError, ConfigError } from "../errors";
import { logger } from "../logger";
import { startLocalBridge } from "./bridge";
import { enableInvocationScopes, inInvocationScope } from "./invocation-scope";
// Registers the YAML parser, so routing and schedules files may be YAML.
import "../routing/yaml";

/**
 * Entry point of `npm start`: the bridge on 127.0.0.1 with its embedded stand-ins, until Ctrl-C.
 */
async function main(): Promise<void> {
  // Local settings and secrets (for `env:NAME` references) may live in ./.env. Variables already
  // set in the shell take precedence over the file.
  if (existsSync(".env")) {
    process.loadEnvFile(".env");
    // The logger was created before the file was read, so a LOG_LEVEL from the file is applied
    // here. An invalid one is left for the configuration check, which names it.
    const level = process.env.LOG_LEVEL?.trim().toUpperCase();
    if (level !== undefined && ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "SILENT"].includes(level)) {
      logger.setLogLevel(level as "INFO");
    }
    logger.info("read settings from .env");
  }
  const bridge = await startLocalBridge();
  const { secmaster } = bridge.config;
  logger.info("secmaster-bridge is listening", {
    ingestUrl: `${bridge.url}/v1/alerts/{source}`,
    healthUrl: `${bridge.url}/healthz`,
    idempotencyStore: bridge.dynamodb.endpoint,
    mode: bridge.config.delivery.mode,
    ...(bridge.queue === undefined ? {} : { queueFolder: bridge.queue.name, deadLetterFolder: bridge.deadLetters?.name }),
  });
  if (bridge.emulator === undefined) {
    logger.info("sending to SecMaster", { endpoint: secmaster.endpoint ?? `region ${secmaster.region}`, workflowId: secmaster.workflowId });
  } else {
    logger.info("no SecMaster credentials set, so the embedded SecMaster emulator receives the workflow instances", {
      emulatorUrl: bridge.emulator.url,
      instancesUrl: `${bridge.emulator.url}/_emulator/instances`,
      statsUrl: `${bridge.emulator.url}/_emulator/stats`,
      workflowId: secmaster.workflowId,
      workflows: bridge.emulatorWorkflows?.workflows.map((workflow) => workflow.id),
      workspaceId: secmaster.workspaceId,
    });
    const elsewhere = bridge.emulatorWorkflows?.elsewhere ?? [];
    if (elsewhere.length > 0) {
      logger.warn("the emulator serves one project and workspace, so it rejects these targets and their jobs end in the dead-letter queue", {
        targets: elsewhere.map((target) => `${target.projectId}/${target.workspaceId}/${target.workflowId}`),
      });
    }
    logger.info("CLI commands in another shell reach this emulator and idempotency store through the data folder", {
      file: bridge.infoFile,
      commands: "secmaster-bridge schedule run --direct, secmaster-bridge routes check",
    });
  }
  logger.info("press Ctrl-C to stop the bridge");

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.info("already stopping; the first signal's stop goes on (Ctrl-C again stops at once)", { signal });
      return;
    }
    stopping = true;
    logger.info("stopping", { signal });
    void bridge.close().then(() => {
      logger.info("stopped");
      process.exit(0);
    });
  };
  // Signal handlers run outside the process's log context, so each gets one.
  process.once("SIGINT", () => inInvocationScope(() => stop("SIGINT")));
  process.once("SIGTERM", () => inInvocationScope(() => stop("SIGTERM")));
}

await enableInvocationScopes();
// `ssm:` and `secretsmanager:` secrets are fetched with the credentials the AWS CLI would use.
setDefaultCredentialsProvider(sdkCredentialChain());
inInvocationScope(main).catch((error: unknown) => {
  // The rejection arrives outside main's log context, and the logger needs one to write.
  inInvocationScope(() => reportStartFailure(error));
  process.exit(1);
});

/**
 * Reports a failed start twice: as a structured log line, and as plain text on stderr in the
 * form the CLI uses (`CODE: message`, then `fix: …`), so the configuration issues read as a list.
 */
function reportStartFailure(error: unknown): void {
  const failure = describeStartFailure(error);
  if (error instanceof ConfigError) {
    logger.error("invalid configuration", { code: error.code, issues: error.issues });
  } else if (failure !== undefined) {
    logger.error("failed to start the local bridge", { code: failure.code, reason: failure.reason, fix: failure.fix });
  } else {
    logger.error("failed to start the local bridge", { error: error as Error });
  }

  let text = `failed to start the local bridge: ${(error as Error).message ?? String(error)}`;
  if (failure !== undefined) {
    text = `${failure.code}: ${failure.reason}`;
    if (failure.fix !== undefined) text += `\nfix: ${failure.fix}`;
  }
  process.stderr.write(`\n${text}\n`);
}

/** Returns the code, reason and fix of a known start failure, or undefined for any other error. */
function describeStartFailure(error: unknown): { code: string; reason: string; fix: string | undefined } | undefined {
  // A ConfigError's message is the "invalid configuration:" list of its issues.
  if (error instanceof BridgeError) return { code: error.code, reason: error.message, fix: error.fix };
  if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
    const { address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
    return {
      code: "EADDRINUSE",
      reason: `${address ?? "127.0.0.1"}:${port ?? "?"} is in use by another process`,
      fix: "stop that process, or set PORT (bridge, default 3000) and SECMASTER_EMULATOR_PORT (emulator, default 9400) to free ports",
    };
  }
  return undefined;
}
