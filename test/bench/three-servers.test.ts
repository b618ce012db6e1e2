import test from 'ava';
import { parseScrape, summarize, windowOf } from '../../bench/scale/api-latency.ts';
import { MergedScraper, mergeScrapes } from '../../bench/scale/three-servers.ts';
import { ApiMetrics, type RequestLabels } from '../../controlplane/api/metrics.ts';
import type { ServerProcess } from '../controlplane/server-process.ts';

const lease: RequestLabels = {
  verb: 'PUT',
  group: 'coordination.k8s.io',
  version: 'v1',
  resource: 'leases',
  subresource: '',
  scope: 'resource',
  code: 200,
};

test('three servers scraped as one: requests and buckets summed; a server that stops answering keeps its last count', async (t) => {
  const metrics = [new ApiMetrics(), new ApiMetrics(), new ApiMetrics()];
  const servers = [{ pid: 1 }, { pid: 2 }, { pid: 3 }] as unknown as ServerProcess[];
  const dead = new Set<ServerProcess>();
  const scraper = new MergedScraper(servers, async (server) => {
    if (dead.has(server)) throw new Error('connect ECONNREFUSED');
    return parseScrape(metrics[servers.indexOf(server)]!.render());
  });
  metrics[0]!.observeRequest(lease, 0.01);
  const before = await scraper.scrape();
  // in the window: 10 fast renewals on the first server, 10 slow ones on the second; then the first dies
  for (let i = 0; i < 10; i++) metrics[0]!.observeRequest(lease, 0.01);
  for (let i = 0; i < 10; i++) metrics[1]!.observeRequest(lease, 0.04);
  await scraper.scrape();
  dead.add(servers[0]!);
  metrics[2]!.observeRequest(lease, 0.04);
  const after = await scraper.scrape();
  const window = windowOf(before, after);
  t.is(window.requests.get('PUT leases'), 21, "the dead server's renewals still count, never negatively");
  const summary = summarize(window);
  t.is(summary.mutating.count, 21);
  // 10 fast (the first bucket, up to 25 ms) and 11 slow (25 to 50 ms): the median is a slow one
  t.true(summary.mutating.p50_ms > 25 && summary.mutating.p50_ms <= 50, `p50 ${summary.mutating.p50_ms} ms`);
  // all three gone: the scrape fails instead of reporting nothing
  for (const server of servers) dead.add(server);
  await t.throwsAsync(scraper.scrape(), { message: 'connect ECONNREFUSED' });
  t.deepEqual(mergeScrapes([parseScrape('')]).requests, new Map());
});
