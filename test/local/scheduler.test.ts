import type { Context } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { LocalScheduler, type LocalScheduledEvent } from "../../lib/local/scheduler";
import { parseSchedulesText } from "../../lib/schedule/load";
import type { ScheduledRunResult } from "../../lib/schedule/trigger";

const SCHEDULES = parseSchedulesText(
  `
schedules:
  - name: every-five
    expression: rate(5 minutes)
    alert: {}
  - name: quarter-past
    expression: cron(15 * * * ? *)
    alert: {}
  - name: paused
    expression: rate(1 minute)
    enabled: false
    alert: {}
`,
  "schedules.yaml",
);

function recorder() {
  const fired: LocalScheduledEvent[] = [];
  const contexts: Context[] = [];
  const fire = (event: LocalScheduledEvent, context: Context): Promise<ScheduledRunResult> => {
    fired.push(event);
    contexts.push(context);
    return Promise.resolve({ schedule: event.schedule, scheduled_time: event.time, action_instance_id: "id", workflow_id: "wf", status: "created" });
  };
  return { fired, contexts, fire };
}

describe("local scheduler", () => {
  it("fires due times once, in time order", async () => {
    const { fired, contexts, fire } = recorder();
    let now = new Date("2026-01-15T08:09:30.000Z");
    const scheduler = new LocalScheduler({ schedules: SCHEDULES, fire, now: () => now });
    scheduler.start();
    await scheduler.close();

    now = new Date("2026-01-15T08:20:00.000Z");
    const results = await scheduler.runDue();
    const again = await scheduler.runDue();

    expect(fired).toEqual([
      { schedule: "every-five", time: "2026-01-15T08:10:00.000Z", event_id: "local-every-five-2026-01-15T08:10:00.000Z" },
      { schedule: "every-five", time: "2026-01-15T08:15:00.000Z", event_id: "local-every-five-2026-01-15T08:15:00.000Z" },
      { schedule: "quarter-past", time: "2026-01-15T08:15:00.000Z", event_id: "local-quarter-past-2026-01-15T08:15:00.000Z" },
      { schedule: "every-five", time: "2026-01-15T08:20:00.000Z", event_id: "local-every-five-2026-01-15T08:20:00.000Z" },
    ]);
    expect(results).toHaveLength(4);
    expect(again).toEqual([]);
    expect(contexts[0]!.awsRequestId).toBe("local-every-five-2026-01-15T08:10:00.000Z");
  });

  it("keeps going after a failed run", async () => {
    const fired: string[] = [];
    const now = new Date("2026-01-15T08:04:59.000Z");
    const scheduler = new LocalScheduler({
      schedules: SCHEDULES,
      fire: (event) => {
        fired.push(event.time);
        return fired.length === 1 ? Promise.reject(new Error("SecMaster down")) : Promise.resolve({ schedule: event.schedule, scheduled_time: event.time, action_instance_id: "id", workflow_id: "wf", status: "created" });
      },
      now: () => now,
    });
    scheduler.start();
    await scheduler.close();

    const results = await scheduler.runDue(new Date("2026-01-15T08:10:00.000Z"));

    expect(fired).toEqual(["2026-01-15T08:05:00.000Z", "2026-01-15T08:10:00.000Z"]);
    expect(results.map((result) => result.scheduled_time)).toEqual(["2026-01-15T08:10:00.000Z"]);
  });

  it("timer fires schedules as the clock passes them", async () => {
    const { fired, fire } = recorder();
    // A clock that runs 600 times faster than real time, so five scheduled minutes pass in 0.5 s.
    const realStart = Date.now();
    const clockStart = Date.parse("2026-01-15T08:09:59.000Z");
    const scheduler = new LocalScheduler({ schedules: SCHEDULES, fire, now: () => new Date(clockStart + (Date.now() - realStart) * 600), maxSleepMs: 10 });

    scheduler.start();
    await new Promise((resolve) => setTimeout(resolve, 700));
    await scheduler.close();

    expect(fired.slice(0, 3).map((event) => `${event.schedule} ${event.time}`)).toEqual([
      "every-five 2026-01-15T08:10:00.000Z",
      "every-five 2026-01-15T08:15:00.000Z",
      "quarter-past 2026-01-15T08:15:00.000Z",
    ]);
  });
});
