import test from 'ava';
import { successPolicyMet } from '../../../../controlplane/controllers/job/success-policy.ts';

const done = (...indexes: number[]) => new Set(indexes);

test('a rule with indexes only needs all of them', (t) => {
  t.is(successPolicyMet([{ succeededIndexes: '0,2-3' }], done(0, 2), 5), undefined);
  t.is(successPolicyMet([{ succeededIndexes: '0,2-3' }], done(0, 2, 3), 5), 'Matched rules at index 0');
});

test('a rule with a count only needs that many indexes, whichever', (t) => {
  t.is(successPolicyMet([{ succeededCount: 3 }], done(1, 4), 5), undefined);
  t.is(successPolicyMet([{ succeededCount: 3 }], done(1, 3, 4), 5), 'Matched rules at index 0');
});

test('a rule with both needs that many of the named indexes; the first rule met is named', (t) => {
  const rules = [{ succeededIndexes: '0-2', succeededCount: 2 }, { succeededCount: 1 }];
  t.is(successPolicyMet(rules, done(0, 4), 5), 'Matched rules at index 1');
  t.is(successPolicyMet(rules.slice(0, 1), done(0, 4), 5), undefined);
  t.is(successPolicyMet(rules, done(0, 2), 5), 'Matched rules at index 0');
});
