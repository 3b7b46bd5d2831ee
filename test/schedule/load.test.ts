import { describe, expect, it } from "vitest";
import { ConfigError } from "../../lib/errors";
import { compileSchedules, readSchedulesFile, renderScheduledAlert } from "../../lib/schedule/load";
import { planScheduledRun, findSchedule } from "../../lib/schedule/run";

const DEFAULT_TARGET = {
  projectId: "0000000000000000000000000000e001",
  workspaceId: "00000000-0000-4000-8000-00000000a001",
  workflowId: "00000000-0000-4000-8000-00000000f001",
  dataclass: { id: "00000000-0000-4000-8000-00000000d001", name: "Alert" },
};

function issuesOf(input: unknown): readonly string[] {
  try {
    compileSchedules(input, "schedules.yaml");
  } catch (error) {
    expect((error as ConfigError).code).toBe("BRIDGE.CONFIG_INVALID");
    return (error as ConfigError).issues;
  }
  throw new Error("expected the schedules file to be rejected");
}

describe("schedules file", () => {
  it("reads schedules with their expressions", () => {
    const schedules = readSchedulesFile("test/fixtures/schedule/schedules.yaml");

    expect(schedules.map((schedule) => [schedule.name, schedule.expression.text, schedule.enabled])).toEqual([
      ["nightly-posture", "cron(0 18 * * ? *)", true],
      ["hourly-sweep", "rate(1 hour)", true],
      ["paused", "rate(5 minutes)", false],
    ]);
  });

  it("names the schedule and field of each issue", () => {
    const issues = issuesOf({
      schedules: [
        { name: "ok", expression: "rate(1 hour)", alert: {} },
        { name: "bad-cron", expression: "cron(0 18 * * * *)", alert: {} },
        { name: "Bad Name", expression: "rate(1 hour)", alert: {} },
        { name: "list-alert", expression: "rate(1 hour)", alert: ["title"] },
      ],
    });

    expect(issues).toEqual([
      'schedules.yaml: schedules[1] (name "bad-cron"): expression: cron needs ? in exactly one of day-of-month and day-of-week',
      "schedules.yaml: schedules[2] (name \"Bad Name\"): name: must be 1 to 32 lower-case letters, digits or '-', starting with a letter or digit",
      'schedules.yaml: schedules[3] (name "list-alert"): alert: must be a map of Alert fields, such as { title: ..., severity: Low }',
    ]);
  });

  it("treats a missing alert as an empty template", () => {
    const [schedule] = compileSchedules({ schedules: [{ name: "no-alert", expression: "rate(1 hour)" }] }, "schedules.yaml");

    expect(schedule!.template).toEqual({});
    expect(renderScheduledAlert(schedule!, "2026-01-15T18:00:00.000Z")).toEqual({
      title: "Scheduled run of no-alert",
      first_observed_time: "2026-01-15T18:00:00.000Z",
      last_observed_time: "2026-01-15T18:00:00.000Z",
      create_time: "2026-01-15T18:00:00.000Z",
    });
  });

  it("checks templates against the Alert data class", () => {
    const issues = issuesOf({
      schedules: [
        { name: "enum", expression: "rate(1 hour)", alert: { severity: "Critical", title: "{{schedule}} at {{scheduled_time}}" } },
        { name: "extra", expression: "rate(1 hour)", alert: { titel: "x" } },
      ],
    });

    expect(issues).toHaveLength(3);
    expect(issues[0]).toBe(
      'schedules.yaml: schedules[0] (name "enum"): alert: unknown placeholder {{schedule}}; use {{schedule_name}}, {{scheduled_time}}, {{scheduled_date}}',
    );
    expect(issues[1]).toMatch(/^schedules\.yaml: schedules\[0\] \(name "enum"\): alert\.severity: /);
    expect(issues[2]).toMatch(/^schedules\.yaml: schedules\[1\] \(name "extra"\): alert: Unrecognized key: "titel"/);
  });

  it("lists template problems beside another schedule's invalid expression", () => {
    const issues = issuesOf({
      schedules: [
        { name: "one", expression: "cron(0 18 * * * *)", alert: {} },
        { name: "two", expression: "rate(1 hour)", alert: { title: "{{sheduled_time}}" } },
      ],
    });

    expect(issues).toEqual([
      'schedules.yaml: schedules[0] (name "one"): expression: cron needs ? in exactly one of day-of-month and day-of-week',
      'schedules.yaml: schedules[1] (name "two"): alert: unknown placeholder {{sheduled_time}}; use {{schedule_name}}, {{scheduled_time}}, {{scheduled_date}}',
    ]);
  });

  it("rejects duplicate names", () => {
    expect(
      issuesOf({
        schedules: [
          { name: "same", expression: "rate(1 hour)", alert: {} },
          { name: "same", expression: "rate(2 hours)", alert: {} },
        ],
      }),
    ).toEqual(['schedules.yaml: schedules[1] (name "same"): name: duplicates the name of schedules[0]']);
  });

  it("fills placeholders and default times", () => {
    const [nightly] = readSchedulesFile("test/fixtures/schedule/schedules.yaml");

    expect(renderScheduledAlert(nightly!, "2026-01-15T18:00:00.000Z")).toEqual({
      title: "Nightly posture review 2026-01-15",
      description: "Started by schedule nightly-posture for 2026-01-15T18:00:00.000Z",
      severity: "Tips",
      alert_type: { category: "Scheduled", alert_type: "posture-review" },
      data_source: { source_type: 3, product_name: "secmaster-bridge" },
      first_observed_time: "2026-01-15T18:00:00.000Z",
      last_observed_time: "2026-01-15T18:00:00.000Z",
      create_time: "2026-01-15T18:00:00.000Z",
    });
  });

  it("plans a run under an id of schedule and time", () => {
    const schedules = readSchedulesFile("test/fixtures/schedule/schedules.yaml");

    const nightly = planScheduledRun(findSchedule(schedules, "nightly-posture"), "2026-01-15T18:00:00.000Z", DEFAULT_TARGET);
    const nextNight = planScheduledRun(findSchedule(schedules, "nightly-posture"), "2026-01-16T18:00:00.000Z", DEFAULT_TARGET);
    const sweep = planScheduledRun(findSchedule(schedules, "hourly-sweep"), "2026-01-15T19:00:00.000Z", DEFAULT_TARGET);

    expect(nightly.actionInstanceId).toBe("41440672-9265-5de0-b13c-cc19da30fc68");
    expect(nightly.workflowId).toBe("00000000-0000-4000-8000-00000000f001");
    expect(nightly.source).toBe("schedule");
    expect(nightly.alertKey).toBe("nightly-posture");
    expect(nextNight.actionInstanceId).toBe("7b89907d-1d5f-55ba-bea7-6d8a97a5d8b9");
    expect(sweep).toMatchObject({
      actionInstanceId: "9c80b861-8fec-5d32-a85f-aac885d6e54d",
      projectId: "0000000000000000000000000000e001",
      workspaceId: "11111111-2222-4333-8444-555555555555",
      workflowId: "aaaaaaaa-0000-4000-8000-000000000005",
      dataclass: { name: "Alert" },
    });
    expect(sweep.content.labels).toBe("schedule=hourly-sweep");
  });

  it("unknown schedule lists the declared ones", () => {
    const schedules = readSchedulesFile("test/fixtures/schedule/schedules.yaml");

    expect(() => findSchedule(schedules, "nope")).toThrow('unknown schedule "nope"; declared schedules: nightly-posture, hourly-sweep, paused');
  });
});
