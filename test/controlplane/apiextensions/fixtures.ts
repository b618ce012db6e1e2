/**
 * CustomResourceDefinitions for the tests, written for this project after the kinds found in the
 * wild: a CronTab-like schedule with printer columns, defaults, CEL rules, short names, a category
 * and the status and scale subresources; and a two-version definition (conversion None).
 */
export const backupGroup = 'ops.bosun.test';

export const backupSchedules = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `backupschedules.${backupGroup}` },
  spec: {
    group: backupGroup,
    scope: 'Namespaced',
    names: {
      plural: 'backupschedules',
      singular: 'backupschedule',
      kind: 'BackupSchedule',
      shortNames: ['bks'],
      categories: ['all', 'backups'],
    },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: {
          status: {},
          scale: {
            specReplicasPath: '.spec.workers',
            statusReplicasPath: '.status.workers',
            labelSelectorPath: '.status.selector',
          },
        },
        additionalPrinterColumns: [
          { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule', description: 'When the backup runs' },
          { name: 'Workers', type: 'integer', jsonPath: '.spec.workers' },
          { name: 'Last', type: 'string', jsonPath: '.status.lastResult', priority: 1 },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        selectableFields: [{ jsonPath: '.spec.target' }],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description: 'A schedule of backups of one volume.',
            properties: {
              spec: {
                type: 'object',
                description: 'What to back up and when.',
                'x-kubernetes-validations': [
                  { rule: 'self.workers <= self.maxWorkers', message: 'workers may not exceed maxWorkers' },
                  {
                    rule: "self.target.startsWith('vol-')",
                    messageExpression: "'target ' + self.target + ' is not a volume name'",
                  },
                  { rule: 'self.target == oldSelf.target', message: 'target is immutable', fieldPath: '.target' },
                ],
                properties: {
                  schedule: { type: 'string', description: 'Cron schedule.', pattern: '^\\S+( \\S+){4}$' },
                  target: { type: 'string', description: 'The volume to back up.' },
                  workers: { type: 'integer', minimum: 0, default: 1 },
                  maxWorkers: { type: 'integer', default: 4 },
                  retention: { 'x-kubernetes-int-or-string': true, default: '7d' },
                  options: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  copies: {
                    type: 'array',
                    'x-kubernetes-list-type': 'map',
                    'x-kubernetes-list-map-keys': ['site', 'zone'],
                    items: {
                      type: 'object',
                      required: ['site', 'zone'],
                      properties: { site: { type: 'string' }, zone: { type: 'string' }, keep: { type: 'integer' } },
                    },
                  },
                  tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
                  steps: { type: 'array', items: { type: 'string' } },
                  window: {
                    type: 'object',
                    'x-kubernetes-map-type': 'atomic',
                    properties: { start: { type: 'string' }, end: { type: 'string' } },
                  },
                },
                required: ['schedule', 'target'],
              },
              status: {
                type: 'object',
                properties: {
                  workers: { type: 'integer' },
                  selector: { type: 'string' },
                  lastResult: { type: 'string' },
                },
              },
            },
          },
        },
      },
    ],
  },
};

export const widgetGroup = 'shapes.bosun.test';

const widgetSchema = {
  openAPIV3Schema: {
    type: 'object',
    properties: { spec: { type: 'object', properties: { size: { type: 'integer' }, colour: { type: 'string' } } } },
  },
};

/** Two versions over one storage version; v1beta1 is older and deprecated. */
export const widgets = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${widgetGroup}` },
  spec: {
    group: widgetGroup,
    scope: 'Cluster',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    conversion: { strategy: 'None' },
    versions: [
      { name: 'v1beta1', served: true, storage: false, deprecated: true, schema: widgetSchema },
      { name: 'v1', served: true, storage: true, schema: widgetSchema },
    ],
  },
};

/** A namespaced definition of `plural` in `group` (kind `kind`, singular its lower case) with these versions and spec fields. */
export function namespacedDefinition(
  group: string,
  plural: string,
  kind: string,
  spec: { versions: unknown[]; [field: string]: unknown },
) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: { group, scope: 'Namespaced', names: { plural, singular: kind.toLowerCase(), kind }, ...spec },
  };
}
