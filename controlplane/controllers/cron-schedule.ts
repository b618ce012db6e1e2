/**
 * Cron schedules as CronJobs read them: five fields (minute hour day-of-month month day-of-week,
 * with day-of-month and day-of-week ORed as in classic cron) or a macro such as @hourly, evaluated
 * in spec.timeZone or, without one, in the controller's local zone. Parsing and stepping are left
 * to the croner library; this file only asks it the questions the controller has.
 */
import { Cron } from 'croner';
import { ScheduleError } from '../errors.ts';

export interface Schedule {
  /** The first scheduled time strictly after `after`, if any. */
  next(after: Date): Date | undefined;
}

export function parseSchedule(expression: string, timeZone: string | undefined): Schedule {
  if (/^\s*(CRON_)?TZ=/.test(expression))
    throw new ScheduleError('the schedule names a time zone; use spec.timeZone instead');
  let cron: Cron;
  try {
    cron = new Cron(expression.trim(), { mode: '5-part', ...(timeZone ? { timezone: timeZone } : {}) });
  } catch (err) {
    throw new ScheduleError(`unparseable schedule "${expression}": ${(err as Error).message}`);
  }
  return { next: (after) => cron.nextRun(after) ?? undefined };
}

interface MissedRuns {
  /** The latest scheduled time not after `now`, if any fell in the window. */
  readonly latest: Date | undefined;
  /** How many scheduled times fell in the window (counting stops above `limit`). */
  readonly count: number;
}

/** Scheduled times in (since, now]; counting stops after `limit` to stay cheap for old CronJobs. */
export function missedRuns(schedule: Schedule, since: Date, now: Date, limit = 100): MissedRuns {
  let latest: Date | undefined;
  let count = 0;
  let cursor = since;
  for (;;) {
    const next = schedule.next(cursor);
    if (next === undefined || next.getTime() > now.getTime()) return { latest, count };
    latest = next;
    count++;
    cursor = next;
    if (count > limit) {
      // Too many to walk one by one: find the latest by walking back from now in large steps.
      return { latest: latestBefore(schedule, next, now), count };
    }
  }
}

function latestBefore(schedule: Schedule, known: Date, now: Date): Date {
  let low = known;
  // Double the step until a step overshoots, then walk the last stretch run by run.
  let step = 60_000;
  while (low.getTime() + step < now.getTime()) {
    const probe = schedule.next(new Date(now.getTime() - step));
    if (probe !== undefined && probe.getTime() <= now.getTime()) {
      low = probe;
      break;
    }
    step *= 2;
  }
  for (let next = schedule.next(low); next !== undefined && next.getTime() <= now.getTime(); next = schedule.next(next))
    low = next;
  return low;
}
