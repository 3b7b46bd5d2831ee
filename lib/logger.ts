import { Logger, type LogItem } from "@aws-lambda-powertools/logger";
import type { ConstructorOptions } from "@aws-lambda-powertools/logger/types";
import { redactSecrets } from "./auth/redact";

/**
 * Powertools Logger that can write every log line to one stream of the caller's choice. Until
 * {@link writeLinesTo} is called it prints as Powertools does, warnings and errors on stderr and
 * the rest on stdout, which the Lambda functions and `npm start` keep.
 */
class BridgeLogger extends Logger {
  #stream: NodeJS.WritableStream | undefined;

  /** Sends every later log line to `stream`. The CLI passes stderr, so stdout carries only its output. */
  writeLinesTo(stream: NodeJS.WritableStream): void {
    this.#stream = stream;
  }

  // The Logger of Powertools 2.35 has no option for the output stream, so this override of its
  // protected printLog writes the JSON line that Powertools would print. NOTE: the line is always
  // compact, even with POWERTOOLS_DEV, and buffered logs (logBufferOptions, unused here) bypass it.
  protected override printLog(logLevel: number, log: LogItem): void {
    if (this.#stream === undefined) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    this.#stream.write(`${JSON.stringify(log.getAttributes(), this.getJsonReplacer())}\n`);
  }

  // Keeps the stream in loggers made by createChild, which builds them through this factory.
  protected override createLogger(options?: ConstructorOptions): BridgeLogger {
    const child = new BridgeLogger(options);
    child.#stream = this.#stream;
    return child;
  }
}

/**
 * The bridge's structured logger. Messages are fixed text; ids go in keys (`actionInstanceId`,
 * `source`, `workflowId`, `attempt`). Payloads and secrets are never logged, and values under
 * credential-like keys (Authorization, tokens, AK/SK, passwords) are redacted as a second line
 * of defence.
 */
export const logger = new BridgeLogger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "secmaster-bridge",
  logLevel: (process.env.LOG_LEVEL ?? "INFO").toUpperCase() as "INFO",
  jsonReplacerFn: redactSecrets,
});
