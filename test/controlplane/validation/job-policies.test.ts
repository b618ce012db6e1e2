/**
 * The Job fields of Indexed Jobs and failure/success policies: what upstream accepts passes, what
 * it refuses is refused at its field path in its words.
 */
import test from 'ava';
import { validationErrors, type ValidatedResource } from '../../../controlplane/validation/index.ts';
import { indexListProblem } from '../../../controlplane/validation/job-policies.ts';

type Any = Record<string, any>;

const jobs: ValidatedResource = { group: 'batch', resource: 'jobs', kind: 'Job', namespaced: true };
const job = (spec: Any, restartPolicy = 'Never') => ({
  metadata: { name: 'j', namespace: 'default' },
  spec: {
    template: { spec: { restartPolicy, containers: [{ name: 'main', image: 'busybox' }] } },
    ...spec,
  },
});
const ignore42 = { rules: [{ action: 'Ignore', onExitCodes: { operator: 'In', values: [42] } }] };

test('an Indexed Job with every policy, as upstream documents it, passes', (t) => {
  const spec = {
    completionMode: 'Indexed',
    completions: 10,
    parallelism: 3,
    backoffLimitPerIndex: 1,
    maxFailedIndexes: 5,
    podReplacementPolicy: 'Failed',
    successPolicy: { rules: [{ succeededIndexes: '0,2-5', succeededCount: 3 }, { succeededCount: 8 }] },
    podFailurePolicy: {
      rules: [
        { action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [1, 2, 3] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        { action: 'FailIndex', onExitCodes: { operator: 'NotIn', values: [0, 4] } },
        { action: 'Count', onExitCodes: { operator: 'In', values: [4] } },
      ],
    },
  };
  t.deepEqual(validationErrors(jobs, job(spec)).causes, []);
});

const refused: Array<[string, Any, string, string, string?]> = [
  [
    'Indexed without completions',
    { completionMode: 'Indexed' },
    'spec.completions',
    'Required value: when completion mode is Indexed',
  ],
  [
    'Indexed with too much parallelism',
    { completionMode: 'Indexed', completions: 5, parallelism: 100001 },
    'spec.parallelism',
    'Invalid value: 100001: must be less than or equal to 100000 when completion mode is Indexed',
  ],
  [
    'backoffLimitPerIndex on a NonIndexed Job',
    { backoffLimitPerIndex: 1 },
    'spec.backoffLimitPerIndex',
    'Invalid value: 1: requires indexed completion mode',
  ],
  [
    'maxFailedIndexes without backoffLimitPerIndex',
    { completionMode: 'Indexed', completions: 5, maxFailedIndexes: 1 },
    'spec.backoffLimitPerIndex',
    'Required value: when maxFailedIndexes is specified',
  ],
  [
    'maxFailedIndexes above completions',
    { completionMode: 'Indexed', completions: 5, backoffLimitPerIndex: 1, maxFailedIndexes: 6 },
    'spec.maxFailedIndexes',
    'Invalid value: 6: must be less than or equal to completions',
  ],
  [
    'podFailurePolicy with restartPolicy OnFailure',
    { podFailurePolicy: ignore42 },
    'spec.template.spec.restartPolicy',
    'Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified',
    'OnFailure',
  ],
  [
    'podFailurePolicy with podReplacementPolicy TerminatingOrFailed',
    { podFailurePolicy: ignore42, podReplacementPolicy: 'TerminatingOrFailed' },
    'spec.podReplacementPolicy',
    'Unsupported value: "TerminatingOrFailed": supported values: "Failed"',
  ],
  [
    'FailIndex without backoffLimitPerIndex',
    { podFailurePolicy: { rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [1] } }] } },
    'spec.podFailurePolicy.rules[0].action',
    'Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
  ],
  [
    'an unknown action',
    { podFailurePolicy: { rules: [{ action: 'Retry', onExitCodes: { operator: 'In', values: [1] } }] } },
    'spec.podFailurePolicy.rules[0].action',
    'Unsupported value: "Retry": supported values: "Count", "FailIndex", "FailJob", "Ignore"',
  ],
  [
    'exit code 0 with In',
    { podFailurePolicy: { rules: [{ action: 'Ignore', onExitCodes: { operator: 'In', values: [0, 1] } }] } },
    'spec.podFailurePolicy.rules[0].onExitCodes.values[0]',
    'Invalid value: 0: must not be 0 for the In operator',
  ],
  [
    'exit codes out of order',
    { podFailurePolicy: { rules: [{ action: 'Ignore', onExitCodes: { operator: 'In', values: [3, 1] } }] } },
    'spec.podFailurePolicy.rules[0].onExitCodes.values',
    'Invalid value: [3,1]: must be ordered',
  ],
  [
    'a container the template does not have',
    {
      podFailurePolicy: {
        rules: [{ action: 'Ignore', onExitCodes: { containerName: 'other', operator: 'In', values: [1] } }],
      },
    },
    'spec.podFailurePolicy.rules[0].onExitCodes.containerName',
    'Invalid value: "other": must be one of the container or initContainer names in the pod template',
  ],
  [
    'a rule with neither exit codes nor conditions',
    { podFailurePolicy: { rules: [{ action: 'Ignore' }] } },
    'spec.podFailurePolicy.rules[0]',
    'Invalid value: specifying one of OnExitCodes and OnPodConditions is required',
  ],
  [
    'a condition pattern without status',
    { podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }] } },
    'spec.podFailurePolicy.rules[0].onPodConditions[0].status',
    'Required value: valid values: ["False" "True" "Unknown"]',
  ],
  [
    'successPolicy on a NonIndexed Job',
    { successPolicy: { rules: [{ succeededCount: 1 }] } },
    'spec.successPolicy',
    'Invalid value: ',
  ],
  [
    'successPolicy naming an index past completions',
    { completionMode: 'Indexed', completions: 3, successPolicy: { rules: [{ succeededIndexes: '0,5' }] } },
    'spec.successPolicy.rules[0].succeededIndexes',
    'Invalid value: "0,5": error parsing succeededIndexes: too large index: "5"',
  ],
  [
    'successPolicy counting more than it names',
    {
      completionMode: 'Indexed',
      completions: 5,
      successPolicy: { rules: [{ succeededIndexes: '0-1', succeededCount: 3 }] },
    },
    'spec.successPolicy.rules[0].succeededCount',
    'Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)',
  ],
];

for (const [title, spec, field, message, restartPolicy] of refused) {
  test(`refused: ${title}`, (t) => {
    const causes = validationErrors(jobs, job(spec, restartPolicy)).causes;
    const cause = causes.find((c) => c.field === field);
    t.truthy(cause, `no error at ${field}; got ${JSON.stringify(causes)}`);
    t.true(cause!.message!.startsWith(message), cause!.message);
  });
}

test('index lists are read as upstream reads them', (t) => {
  t.deepEqual(indexListProblem('0,2-4,7', 10), { count: 5 });
  t.deepEqual(indexListProblem('', 10), { count: 0 });
  t.deepEqual(indexListProblem('3,1', 10), { problem: 'non-increasing order, previous: 3, current: 1' });
  t.deepEqual(indexListProblem('4-2', 10), { problem: 'non-increasing order, previous: 4, current: 2' });
  t.deepEqual(indexListProblem('a', 10), { problem: 'cannot convert string to integer for index: "a"' });
  t.deepEqual(indexListProblem('1-2-3', 10), {
    problem: `the fragment "1-2-3" violates the requirement that an index interval can have at most two parts separated by '-'`,
  });
});

test('updates: completionMode and the policies are fixed; an elastic Indexed Job may resize', (t) => {
  const indexed = (n: number, extra: Any = {}) =>
    job({ completionMode: 'Indexed', completions: n, parallelism: n, ...extra });
  t.deepEqual(validationErrors(jobs, indexed(6), indexed(4)).causes, []);
  t.deepEqual(
    validationErrors(jobs, indexed(6), indexed(4, { parallelism: 1 })).causes,
    [],
    'only the new spec counts',
  );
  t.deepEqual(
    validationErrors(jobs, indexed(6, { parallelism: 2 }), indexed(4)).causes.map((c) => c.message),
    ['Invalid value: 6: can only be modified in tandem with spec.parallelism'],
  );
  t.deepEqual(
    validationErrors(jobs, indexed(4, { podFailurePolicy: ignore42 }), indexed(4)).causes.map((c) => c.field),
    ['spec.podFailurePolicy'],
  );
  t.deepEqual(
    validationErrors(jobs, job({ completionMode: 'NonIndexed', completions: 4 }), indexed(4)).causes.map(
      (c) => c.field,
    ),
    ['spec.completionMode'],
  );
});
