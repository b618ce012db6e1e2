import test from 'ava';
import { QuantityError } from '../../kube/errors.ts';
import { milliCpu, parseQuantity, wholeUnits } from '../../kube/quantity.ts';

const parsed: [string | number, number][] = [
  ['250m', 0.25],
  ['1.5', 1.5],
  ['64Mi', 64 * 1024 * 1024],
  ['1e3', 1000],
  ['1E-3', 0.001],
  ['2k', 2000],
  ['1Gi', 1024 ** 3],
  ['500M', 500e6],
  ['.5', 0.5],
  ['-1', -1],
  [3, 3],
];
for (const [input, expected] of parsed) {
  test(`parseQuantity(${JSON.stringify(input)}) = ${expected}`, (t) => {
    t.is(parseQuantity(input), expected);
  });
}

test('CPU rounds up to whole millicores and is not fooled by binary fractions', (t) => {
  t.is(milliCpu('0.0001'), 1);
  t.is(milliCpu('0.1'), 100);
  t.is(milliCpu('100m'), 100);
  t.is(milliCpu('1.1'), 1100);
  t.is(milliCpu('2'), 2000);
  t.is(milliCpu('1500u'), 2);
});

test('bytes round up to whole bytes', (t) => {
  t.is(wholeUnits('1.5Ki'), 1536);
  t.is(wholeUnits('0.5'), 1);
  t.is(wholeUnits('1.1k'), 1100);
  t.is(wholeUnits('128974848'), 128974848);
});

for (const bad of ['', 'abc', '1Mb', '1.2.3', '12 Mi', 'Mi', '1ki']) {
  test(`"${bad}" is not a quantity`, (t) => {
    const error = t.throws(() => parseQuantity(bad), { instanceOf: QuantityError });
    t.is(error.code, 'BOSUN_KUBE_BAD_QUANTITY');
  });
}
