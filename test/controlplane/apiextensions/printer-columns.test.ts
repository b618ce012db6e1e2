/**
 * Printer columns of custom resources as kubectl shows them, with the JSONPath forms that CRDs in
 * the wild use (cert-manager's Ready column filters conditions by type).
 */
import test from 'ava';
import { readJsonPath, writeJsonPath } from '../../../controlplane/apiextensions/json-path.ts';
import { customResourceTable } from '../../../controlplane/apiextensions/printer-columns.ts';

const certificate = {
  metadata: { name: 'site', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { secretName: 'site-tls', dnsNames: ['a.example', 'b.example'], renew: true },
  status: {
    conditions: [
      { type: 'Issuing', status: 'False' },
      { type: 'Ready', status: 'True', message: 'Certificate is up to date and has not expired' },
    ],
    revision: 3,
  },
};

test('JSONPath reads fields, indexes, wildcards and filters, and writes plain field paths', (t) => {
  t.deepEqual(readJsonPath(certificate, '.spec.secretName'), ['site-tls']);
  t.deepEqual(readJsonPath(certificate, '.spec.dnsNames[1]'), ['b.example']);
  t.deepEqual(readJsonPath(certificate, '.spec.dnsNames[*]'), ['a.example', 'b.example']);
  t.deepEqual(readJsonPath(certificate, '.status.conditions[?(@.type=="Ready")].status'), ['True']);
  t.deepEqual(readJsonPath(certificate, ".metadata['name']"), ['site']);
  t.deepEqual(readJsonPath(certificate, '.status.missing'), []);
  t.deepEqual(readJsonPath(certificate, 'not a path'), []);
  const target: Record<string, unknown> = {};
  t.true(writeJsonPath(target, '.spec.replicas', 3));
  t.deepEqual(target, { spec: { replicas: 3 } });
  t.false(writeJsonPath(target, '.spec.list[0]', 1), 'only plain fields are written');
});

test('a table has Name, then the columns by JSONPath with their types, dates as ages, gaps as null', (t) => {
  const now = Date.parse('2026-01-01T00:05:00Z');
  const table = customResourceTable(
    [
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: 'Secret', type: 'string', jsonPath: '.spec.secretName' },
      { name: 'Names', type: 'string', jsonPath: '.spec.dnsNames[*]', priority: 1 },
      { name: 'Revision', type: 'integer', jsonPath: '.status.revision' },
      { name: 'Renew', type: 'boolean', jsonPath: '.spec.renew' },
      { name: 'Issuer', type: 'string', jsonPath: '.spec.issuerRef.name' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    [certificate],
    '7',
    'None',
    now,
  );
  t.deepEqual(
    table.columnDefinitions.map((c) => `${c.name}:${c.type}:${c.priority}`),
    [
      'Name:string:0',
      'Ready:string:0',
      'Secret:string:0',
      'Names:string:1',
      'Revision:integer:0',
      'Renew:boolean:0',
      'Issuer:string:0',
      'Age:date:0',
    ],
  );
  t.deepEqual(table.rows[0]?.cells, ['site', 'True', 'site-tls', 'a.example,b.example', 3, true, null, '5m']);
  t.is(table.rows[0]?.object, undefined);
  t.deepEqual(table.metadata, { resourceVersion: '7' });
  const plain = customResourceTable(undefined, [certificate], undefined, 'Metadata', now);
  t.deepEqual(
    plain.columnDefinitions.map((c) => c.name),
    ['Name', 'Age'],
    'without columns of its own a kind prints its age',
  );
});
