import type { Context } from "aws-lambda";
import type { StartJob } from "../delivery/job";
import type { StartOptions, StartOutcome, Starter } from "../delivery/start";

/**
 * Objects kept once per SecMaster project. A SecMaster client signs `X-Project-Id` and puts the
 * project in every path, so a deployment whose routes name several projects needs one client
 * (and one starter over it) per project. Entries are made on first use and kept.
 */
export class PerProject<T> {
  readonly #create: (projectId: string) => T;
  readonly #entries = new Map<string, T>();

  constructor(create: (projectId: string) => T) {
    this.#create = create;
  }

  /** Returns the entry of a project, making it on first use. */
  get(projectId: string): T {
    let entry = this.#entries.get(projectId);
    if (entry === undefined) {
      entry = this.#create(projectId);
      this.#entries.set(projectId, entry);
    }
    return entry;
  }

  /** Entries made so far. */
  values(): IterableIterator<T> {
    return this.#entries.values();
  }
}

/**
 * Builds a starter that hands each job to the starter of its `projectId`. The Lambda context is
 * passed to every project's starter, including ones made after registration.
 */
export function createProjectStarter(starters: PerProject<Starter>): Starter {
  let context: Context | undefined;
  return {
    start(job: StartJob, signal?: AbortSignal, options?: StartOptions): Promise<StartOutcome> {
      const starter = starters.get(job.projectId);
      if (context !== undefined) starter.registerLambdaContext(context);
      return starter.start(job, signal, options);
    },
    registerLambdaContext(next: Context): void {
      context = next;
      for (const starter of starters.values()) starter.registerLambdaContext(next);
    },
  };
}
