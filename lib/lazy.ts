/**
 * Wraps a builder so that it runs on the first call and every later call returns the same value.
 * A builder that throws runs again on the next call.
 *
 * Source adapters and the SecMaster schemas that dispatch seldom needs are built through it.
 * Constructing one zod 4 schema node takes tens of microseconds, so building every adapter's
 * schemas at import made each cold start pay for all sources although a delivery uses one. A plain closure is used rather than `z.lazy`,
 * because a `z.lazy` wrapper is itself a schema node built at import.
 */
export function lazily<T>(build: () => T): () => T {
  let built = false;
  let value: T | undefined;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}
