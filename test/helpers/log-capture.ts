/** Output captured from stdout and stderr, where the Powertools Logger writes. */
export interface LogCapture {
  /** Everything written since the capture started, as one text. */
  text(): string;
  /** Restores the original streams. The captured text stays readable. */
  restore(): void;
}

/**
 * Starts copying everything written to stdout and stderr into memory while it still reaches the
 * terminal. The Powertools Logger writes warnings and errors to stderr and the rest to stdout.
 */
export function captureLogOutput(): LogCapture {
  const chunks: string[] = [];
  const originalStdout = process.stdout.write.bind(process.stdout);
  const originalStderr = process.stderr.write.bind(process.stderr);
  const copyTo =
    (write: (...args: unknown[]) => boolean) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      chunks.push(String(chunk));
      return write(chunk, ...rest);
    };
  process.stdout.write = copyTo(originalStdout as (...args: unknown[]) => boolean);
  process.stderr.write = copyTo(originalStderr as (...args: unknown[]) => boolean);
  return {
    text: () => chunks.join(""),
    restore: () => {
      process.stdout.write = originalStdout;
      process.stderr.write = originalStderr;
    },
  };
}
