import type { StartJob } from "../../lib/delivery/job";
import { jobFor } from "./harness";

// Ids computed once with Python: uuid.uuid5(UUID("6f1d7c52-8a3e-5b0f-9c4e-2d7a1b3e5f60"), name), where name is
// ["secmaster-bridge/identity/v1","alertmanager","prod-eu","3f2a9c1d7e6b5a40","2026-01-15T08:30:00.000Z",WORKFLOW]
// written as compact JSON.
export const WRONG_WORKFLOW = "00000000-0000-4000-8000-0000000000f9";
export const RIGHT_WORKFLOW = "00000000-0000-4000-8000-0000000000f1";
export const ID_FOR_WRONG = "0250ca4f-da10-559c-9f45-6d9a19466d08";
export const ID_FOR_RIGHT = "11db635f-8f5f-53b1-b846-48e0f156946a";

/** Builds a job for one alertmanager episode that a routing rule sent to the wrong workflow. */
export function misroutedJob(overrides: Partial<StartJob> = {}): StartJob {
  return jobFor(7, {
    actionInstanceId: ID_FOR_WRONG,
    workflowId: WRONG_WORKFLOW,
    alertKey: "3f2a9c1d7e6b5a40",
    identity: { scope: "prod-eu", key: "3f2a9c1d7e6b5a40", episode: "2026-01-15T08:30:00.000Z" },
    ...overrides,
  });
}
