/** Minimal writable stream of a progress bar; `isTTY` is set on a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

const BAR_WIDTH = 30;

/**
 * A progress bar on stderr for long operations. On a terminal it redraws one line in place. In a
 * log file it writes a line at each tenth of the total, so the file stays short. Totals below
 * `minTotal` draw nothing, because a few items finish before a bar is worth reading.
 */
export class ProgressBar {
  readonly #stream: ProgressStream;
  readonly #label: string;
  readonly #minTotal: number;
  #lastTenth = -1;
  #drawn = false;

  constructor(stream: ProgressStream, label: string, options: { minTotal?: number } = {}) {
    this.#stream = stream;
    this.#label = label;
    this.#minTotal = options.minTotal ?? 100;
  }

  /** Shows `done` of `total`; `done` may pass an estimated total. */
  update(done: number, total: number): void {
    if (total < this.#minTotal) return;
    const fraction = Math.min(1, done / total);
    if (this.#stream.isTTY === true) {
      const filled = Math.round(fraction * BAR_WIDTH);
      this.#stream.write(`\r${this.#label} [${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${done}/${total}`);
      this.#drawn = true;
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth > this.#lastTenth) {
      this.#lastTenth = tenth;
      this.#stream.write(`${this.#label}: ${done}/${total} (${tenth * 10}%)\n`);
    }
  }

  /** Ends the redrawn line, if one was drawn. */
  finish(): void {
    if (this.#drawn) this.#stream.write("\n");
    this.#drawn = false;
  }
}
