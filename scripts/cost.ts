/**
 * `npm run cost` (DESIGN.md section 10): idle monthly cost per environment, variable cost per
 * 1,000 chat requests and totals at 10k/100k/1M requests a month, from the synthesized
 * templates and the committed price table (lib/cost/prices.ts). Prints a table and writes
 * `reports/cost.json`. Reads `cdk.out/` when present; otherwise synthesizes in-process,
 * offline, into a temporary directory (never the shared `cdk.out`). Ends with the lines that
 * moved against a baseline: the committed docs/cost-baseline.json (the figures before issue
 * 18's cost changes), or a previous reports/cost.json given with --compare.
 *
 *   npm run cost [-- --cdk-out DIR] [--key-age-days N] [--compare FILE]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadEnvironments } from '../lib/config/load';
import { inventory } from '../lib/cost/inventory';
import { costReport, environmentCost, parseBaseline, renderChanges, renderCost } from '../lib/cost/report';
import { hasAssemblies, readAssemblies, synthesizeAssemblies } from '../lib/cost/templates';

const { values } = parseArgs({
  options: {
    'cdk-out': { type: 'string', default: 'cdk.out' },
    'key-age-days': { type: 'string', default: '0' },
    compare: { type: 'string', default: 'docs/cost-baseline.json' },
  },
});
const cdkOut = resolve(values['cdk-out']);
const keyAgeDays = Number(values['key-age-days']);
if (!Number.isFinite(keyAgeDays) || keyAgeDays < 0) throw new Error('--key-age-days must be a number >= 0');

const fromDisk = hasAssemblies(cdkOut);
const envs = fromDisk ? readAssemblies(cdkOut) : await synthesizeAssemblies();
const source = fromDisk ? cdkOut : 'in-process synthesis (cdk.out absent)';
const configs = new Map(loadEnvironments(undefined).map((c) => [c.name, c]));
const order = [...configs.keys()];
envs.sort((a, b) => order.indexOf(a.envName) - order.indexOf(b.envName));

const costs = envs.map((env) => {
  const config = configs.get(env.envName);
  if (!config)
    throw new Error(`No configuration for environment "${env.envName}" (lib/config/environments.ts)`);
  return environmentCost(inventory(env, { keyAgeDays }), {
    conversationDays: config.dataRetentionDays,
    auditTableDays: config.audit.tableRetentionDays,
    archiveDays: config.audit.archiveRetentionDays,
    logDays: config.logRetentionDays,
  });
});

console.log(`templates: ${source}\n`);
console.log(renderCost(costs));
mkdirSync('reports', { recursive: true });
writeFileSync('reports/cost.json', `${JSON.stringify(costReport(costs, source), null, 2)}\n`);
console.log('\nwrote reports/cost.json');
const baselinePath = resolve(values.compare);
if (existsSync(baselinePath)) {
  const baseline = parseBaseline(JSON.parse(readFileSync(baselinePath, 'utf8')), values.compare);
  console.log(`\n${renderChanges(baseline, costs, values.compare)}`);
} else console.log(`\nno baseline at ${values.compare}: nothing to compare`);
