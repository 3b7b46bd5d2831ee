/** Streams for a CLI command that keep what it writes, and the text written to each. */
export function captureCliOutput(tty = false) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: { write: (text: string) => out.push(text) }, err: { write: (text: string) => err.push(text), isTTY: tty } } as never,
    out: () => out.join(""),
    err: () => err.join(""),
  };
}
