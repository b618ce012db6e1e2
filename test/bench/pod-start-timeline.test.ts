/**
 * The pod-start benchmark's breakdown of an API pod's start: the benchmark's create and watch
 * times joined with the agent's debug log lines of the same pod, as consecutive steps.
 */
import test from 'ava';
import { podTimeline, summarizeTimeline, agentMarks } from '../../bench/pod-start-timeline.ts';

const line = (pod: string, msg: string, time: number) =>
  JSON.stringify({ level: 20, time, component: 'agent', loop: 'pods', pod, msg });

/** A pod created at 1000 whose steps take 20, 900, 500, 40 and 5 ms. */
const oneStart = [
  line('default/api-0', 'pod worker started', 1020),
  line('default/api-0', 'pod status written', 1930), // Pending, before any container ran
  line('default/api-0', 'pod sandbox ready', 1920),
  line('default/api-0', 'container starting', 1925),
  line('default/api-0', 'container started', 2420),
  line('default/api-0', 'pod status written', 2460),
].join('\n');

test('each step runs from the end of the one before', (t) => {
  const start = { pod: 'default/api-0', createdAt: 1000, runningAt: 2465 };
  t.deepEqual(podTimeline(start, agentMarks(oneStart).get('default/api-0')), {
    toAgent: 20,
    sandbox: 900,
    containers: 500,
    status: 40,
    toWatch: 5,
  });
});

test('the containers step ends at the last container started, and the status step at the write after it', (t) => {
  const log = [
    oneStart,
    line('default/api-0', 'container started', 2520), // a second container
    line('default/api-0', 'pod status written', 2600),
  ].join('\n');
  const timeline = podTimeline(
    { pod: 'default/api-0', createdAt: 1000, runningAt: 2610 },
    agentMarks(log).get('default/api-0'),
  );
  t.is(timeline?.containers, 600);
  t.is(timeline?.status, 80);
});

test('lines of other pods, other loops and other programs do not count', (t) => {
  const log = [
    'not json',
    '{"broken":',
    JSON.stringify({ level: 30, time: 1500, msg: 'node status written' }),
    line('default/api-1', 'pod sandbox ready', 1100),
    oneStart,
  ].join('\n');
  const marks = agentMarks(log).get('default/api-0');
  t.is(marks?.sandbox, 1920);
  t.deepEqual(marks?.started, [2420]);
});

test('a pod whose marks are missing is left out of the summary, and none at all gives none', (t) => {
  const nearest = (samples: number[], p: number) =>
    [...samples].sort((a, b) => a - b)[Math.ceil((p / 100) * samples.length) - 1]!;
  const starts = [
    { pod: 'default/api-0', createdAt: 1000, runningAt: 2465 },
    { pod: 'default/api-1', createdAt: 1000, runningAt: 3000 },
  ];
  const summary = summarizeTimeline(starts, oneStart, nearest);
  t.is(summary?.pods, 1);
  t.deepEqual(summary?.steps.sandbox, { p50: 900, p99: 900 });
  t.is(summarizeTimeline(starts, '', nearest), undefined);
});
