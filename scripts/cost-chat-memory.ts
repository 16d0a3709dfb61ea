/**
 * `npx tsx scripts/cost-chat-memory.ts [--requests N]`: an upper bound on the chat function's
 * memory, as evidence for its `memorySize` (the largest line of the request path in
 * `npm run cost`). Runs the chat handler in process under the bench's one-user load
 * (scripts/bench/chat-load.ts: the real handler, the real Bedrock client against the Converse
 * stand-in, dynalite for the tables; Lambda gives one request at a time to an instance, so
 * concurrency 1) and samples this process's resident set every 5 ms.
 *
 * The figure is an UPPER bound: dynalite, its in-memory tables and the stand-in run in the
 * same process, which a Lambda instance does not carry. Prints JSON.
 */
import { parseArgs } from 'node:util';
import { deployConfigOf } from '../lib/config/deploy-config';
import { loadEnvironments } from '../lib/config/load';
import { benchChatLoad } from './bench/chat-load';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '400' } } });
const requests = Number(values.requests);
if (!Number.isInteger(requests) || requests < 10) throw new Error('--requests must be an integer >= 10');

const MiB = 1024 * 1024;
const before = process.memoryUsage();
let peakRss = before.rss;
let peakHeap = before.heapUsed;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}, 5);
const config = loadEnvironments('prod')[0]!;
const rows = await benchChatLoad({
  deploy: deployConfigOf(config),
  concurrencies: [1],
  requestsPerLevel: requests,
});
clearInterval(sampler);
console.log(
  JSON.stringify(
    {
      node: process.version,
      requests: rows[0]?.requests,
      errors: rows[0]?.errors,
      p50Ms: rows[0]?.ms.p50,
      rssBeforeMiB: Math.round(before.rss / MiB),
      peakRssMiB: Math.round(peakRss / MiB),
      peakHeapUsedMiB: Math.round(peakHeap / MiB),
    },
    null,
    2,
  ),
);
