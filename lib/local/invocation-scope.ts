import { InvokeStore } from "@aws/lambda-invoke-store";

// Powertools scopes its log attributes to the InvokeStore context of an invocation when this
// variable is set, as Lambda does for an execution environment that runs invocations concurrently.
const CONCURRENCY_VARIABLE = "AWS_LAMBDA_MAX_CONCURRENCY";

/**
 * Gives each local invocation its own Powertools log context, so that the lines of the ingest,
 * dispatch and schedule handlers, which run concurrently in one process, each carry their own
 * function name and request id. Call it once before anything logs, then run the process inside
 * {@link inInvocationScope}. `npm start` does; tests that start a bridge in their own process
 * do not, and their logs keep the shared context.
 */
export async function enableInvocationScopes(): Promise<void> {
  process.env[CONCURRENCY_VARIABLE] ??= "64";
  await InvokeStore.getInstanceAsync(true);
}

/** Runs `task` in a log context of its own when {@link enableInvocationScopes} was called, else as is. */
export function inInvocationScope<T>(task: () => T): T {
  const store = (globalThis as { awslambda?: { InvokeStore?: { run<R>(context: object, fn: () => R): R } } }).awslambda?.InvokeStore;
  if (process.env[CONCURRENCY_VARIABLE] === undefined || store === undefined) return task();
  return store.run({}, task);
}
