/**
 * batch/v1 rules (upstream's pkg/apis/batch/validation): Job counts and restart policy, CronJob
 * schedule and policies, templates through the PodSpec rules.
 */
import type { FieldErrors } from './field-errors.ts';
import {
  checkBoolean,
  checkEnum,
  checkInteger,
  checkString,
  isObject,
  isSet,
  objectAt,
  sameJson,
  type Any,
} from './fields.ts';
import { parseSchedule } from '../controllers/cron-schedule.ts';
import { ScheduleError } from '../errors.ts';
import { validatePodTemplate } from './pod.ts';
import { validateLabelSelector } from './selectors.ts';

const jobRestartPolicies = ['OnFailure', 'Never'];

function validateJobSpec(errors: FieldErrors, path: string, spec: Any): void {
  for (const field of [
    'parallelism',
    'completions',
    'backoffLimit',
    'ttlSecondsAfterFinished',
    'backoffLimitPerIndex',
    'maxFailedIndexes',
  ] as const) {
    checkInteger(errors, `${path}.${field}`, spec[field], { min: 0 });
  }
  checkInteger(errors, `${path}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, {
    min: 1,
    rangeMessage: 'must be greater than 0',
  });
  checkEnum(errors, `${path}.completionMode`, spec.completionMode, ['Indexed', 'NonIndexed']);
  checkBoolean(errors, `${path}.suspend`, spec.suspend);
  checkBoolean(errors, `${path}.manualSelector`, spec.manualSelector);
  validateLabelSelector(errors, `${path}.selector`, spec.selector);
  validatePodTemplate(errors, `${path}.template`, spec.template, jobRestartPolicies);
  // Upstream defaults an absent restart policy to Always, which a Job cannot honour.
  const templateSpec: unknown = isObject(spec.template) ? spec.template.spec : undefined;
  if (isObject(templateSpec) && !isSet(templateSpec.restartPolicy))
    errors.notSupported(`${path}.template.spec.restartPolicy`, 'Always', jobRestartPolicies);
}

export function validateJob(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  if (spec === undefined) return errors.required('spec');
  validateJobSpec(errors, 'spec', spec);
}

/**
 * A Job's selector, completions and pod template are fixed once it exists (upstream's
 * ValidateJobSpecUpdate); the template may still change while the Job is suspended, before any
 * of its pods ran (upstream allows its scheduling fields then; this is more lenient, never stricter).
 */
export function validateJobUpdate(errors: FieldErrors, o: Any, old: Any): void {
  if (!sameJson(o.spec?.selector, old.spec?.selector))
    errors.invalid('spec.selector', o.spec?.selector, 'field is immutable');
  if (!sameJson(o.spec?.completions, old.spec?.completions))
    errors.invalid('spec.completions', o.spec?.completions, 'field is immutable');
  const suspended = old.spec?.suspend === true;
  if (!suspended && !sameJson(o.spec?.template, old.spec?.template))
    errors.invalid('spec.template', o.spec?.template, 'field is immutable');
}

/**
 * What is wrong with a schedule, or nothing. The field count is worded as upstream's cron parser
 * words it; the values are judged by the parser the CronJob controller runs, so a stored schedule
 * is one the controller can follow.
 */
function scheduleProblem(schedule: string): string | undefined {
  if (/^\s*(CRON_)?TZ=/.test(schedule)) return 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead';
  const text = schedule.trim();
  if (text.startsWith('@every '))
    return /^@every (\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)
      ? undefined
      : `failed to parse duration ${text.slice(7)}`;
  const fields = text.split(/\s+/).filter((f) => f !== '');
  if (!text.startsWith('@') && fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: ${text}`;
  try {
    parseSchedule(text, undefined);
    return undefined;
  } catch (err) {
    return err instanceof ScheduleError ? err.message : 'unparseable schedule';
  }
}

/** An IANA time zone name the runtime knows (upstream loads it from the zone database). */
function timeZoneProblem(zone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return undefined;
  } catch {
    return `unknown time zone ${zone}`;
  }
}

export function validateCronJob(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  if (spec === undefined) return errors.required('spec');
  if (checkString(errors, 'spec.schedule', spec.schedule, undefined, true)) {
    const problem = scheduleProblem(spec.schedule);
    if (problem !== undefined) errors.invalid('spec.schedule', spec.schedule, problem);
  }
  if (checkString(errors, 'spec.timeZone', spec.timeZone)) {
    const problem = timeZoneProblem(spec.timeZone);
    if (problem !== undefined) errors.invalid('spec.timeZone', spec.timeZone, problem);
  }
  checkEnum(errors, 'spec.concurrencyPolicy', spec.concurrencyPolicy, ['Allow', 'Forbid', 'Replace']);
  checkInteger(errors, 'spec.startingDeadlineSeconds', spec.startingDeadlineSeconds, { min: 0 });
  checkInteger(errors, 'spec.successfulJobsHistoryLimit', spec.successfulJobsHistoryLimit, { min: 0 });
  checkInteger(errors, 'spec.failedJobsHistoryLimit', spec.failedJobsHistoryLimit, { min: 0 });
  checkBoolean(errors, 'spec.suspend', spec.suspend);
  const jobTemplate = objectAt(errors, 'spec.jobTemplate', spec.jobTemplate);
  const jobSpec = objectAt(errors, 'spec.jobTemplate.spec', jobTemplate?.spec);
  if (jobSpec === undefined) return errors.required('spec.jobTemplate.spec');
  validateJobSpec(errors, 'spec.jobTemplate.spec', jobSpec);
}
