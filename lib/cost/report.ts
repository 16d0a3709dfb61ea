/**
 * The cost report: idle monthly cost, variable cost per 1,000 chat requests and totals at
 * given volumes, per environment; and its text rendering.
 */
import { type Inventory, type LineItem, sumMonthly } from './inventory';
import { MODEL_PRICES, PRICES } from './prices';
import {
  ASSUMPTIONS,
  type CostComponent,
  cognitoMonthly,
  guardrailPerRequest,
  type Retention,
  requestComponents,
  retainedDataComponents,
  sumPerRequest,
  tokenCostPerRequest,
} from './usage';

/** Monthly request volumes the report totals. */
export const VOLUMES = [10_000, 100_000, 1_000_000] as const;
/** The volume at which "per 1,000 requests" is quoted (archiver batches fill with traffic). */
export const QUOTE_VOLUME = 1_000_000;

/** Targets of issues 10 and 18 (dev idle lowered to $60 by issue 18). */
export const TARGETS = { idle: { dev: 60, prod: 150 } as Record<string, number>, perThousandRequests: 0.05 };

/** Totals at one monthly volume. */
export interface VolumeTotal {
  readonly requests: number;
  readonly idle: number;
  readonly activeFixed: number;
  readonly requestPath: number;
  readonly retainedData: number;
  readonly cognito: number;
  readonly guardrail: number;
  /** Everything above: the bill without model tokens. */
  readonly totalExcludingTokens: number;
  /** Model tokens per allow-listed model, if every request used it. */
  readonly tokensByModel: Readonly<Record<string, number>>;
}

/** The report of one environment. */
export interface EnvironmentCost {
  readonly envName: string;
  readonly idleMonthly: number;
  readonly idleByCategory: Readonly<Record<string, number>>;
  readonly idleItems: readonly LineItem[];
  readonly activeFixedItems: readonly LineItem[];
  /** USD per 1,000 chat requests at {@link QUOTE_VOLUME}, by component. */
  readonly perThousand: {
    readonly requestPath: number;
    readonly requestPathComponents: ReadonlyArray<CostComponent & { perThousand: number }>;
    readonly retainedData: number;
    readonly retainedDataComponents: ReadonlyArray<CostComponent & { perThousand: number }>;
    readonly guardrail: number;
    readonly cognito: number;
    readonly tokensByModel: Readonly<Record<string, number>>;
  };
  readonly totals: readonly VolumeTotal[];
  readonly counts: Readonly<Record<string, number>>;
  readonly usageTypes: readonly string[];
  readonly freeTypes: readonly string[];
  readonly unpriced: Inventory['unpriced'];
  /** What the model had to assume because the templates do not (yet) say it. */
  readonly gaps: readonly string[];
  readonly targets: { readonly idle?: number; readonly idleMet?: boolean; readonly perThousandMet: boolean };
}

const round = (n: number, digits = 4) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Computes the cost report of one environment from its inventory and data retention. */
export function environmentCost(inv: Inventory, retention: Retention): EnvironmentCost {
  const facts = inv.facts;
  const idleMonthly = sumMonthly(inv.idle);
  const idleByCategory: Record<string, number> = {};
  for (const item of inv.idle)
    idleByCategory[item.category] = (idleByCategory[item.category] ?? 0) + item.monthly;
  const activeFixed = sumMonthly(inv.activeFixed);
  const retained = retainedDataComponents(inv, retention);
  const guardrail = guardrailPerRequest(facts).perRequest;
  const tokens = tokenCostPerRequest();

  const totals: VolumeTotal[] = VOLUMES.map((requests) => {
    const requestPath = sumPerRequest(requestComponents(facts, requests)) * requests;
    const retainedData = sumPerRequest(retained) * requests;
    const cognito = cognitoMonthly(facts, requests);
    const guardrailTotal = guardrail * requests;
    return {
      requests,
      idle: idleMonthly,
      activeFixed,
      requestPath,
      retainedData,
      cognito,
      guardrail: guardrailTotal,
      totalExcludingTokens: idleMonthly + activeFixed + requestPath + retainedData + cognito + guardrailTotal,
      tokensByModel: Object.fromEntries(tokens.map((t) => [t.modelId, t.perRequest * requests])),
    };
  });

  const quoted = requestComponents(facts, QUOTE_VOLUME);
  const perThousand = {
    requestPath: sumPerRequest(quoted) * 1000,
    requestPathComponents: quoted.map((c) => ({ ...c, perThousand: c.perRequest * 1000 })),
    retainedData: sumPerRequest(retained) * 1000,
    retainedDataComponents: retained.map((c) => ({ ...c, perThousand: c.perRequest * 1000 })),
    guardrail: guardrail * 1000,
    cognito: (cognitoMonthly(facts, QUOTE_VOLUME) / QUOTE_VOLUME) * 1000,
    tokensByModel: Object.fromEntries(tokens.map((t) => [t.modelId, t.perRequest * 1000])),
  };

  const gaps: string[] = [];
  if (!facts.chatFunction)
    gaps.push(
      `no chat function in the templates: priced at ${ASSUMPTIONS.defaultChatMemoryMb} MB with tracing (ApiFunction defaults)`,
    );
  if (facts.loadBalancers === 0)
    gaps.push('no load balancer in the templates: ALB hours, IPv4 and LCUs not included');
  if (facts.webAcls === 0) gaps.push('no web ACL in the templates: WAF ACL, rules and requests not included');
  if (!facts.guardrail)
    gaps.push('no Bedrock guardrail in the templates: priced with the policies of DESIGN.md section 6');

  const idleTarget = TARGETS.idle[inv.envName];
  const requestPathPerThousand = perThousand.requestPath;
  return {
    envName: inv.envName,
    idleMonthly,
    idleByCategory,
    idleItems: inv.idle,
    activeFixedItems: inv.activeFixed,
    perThousand,
    totals,
    counts: inv.counts,
    usageTypes: inv.usageTypes,
    freeTypes: Object.keys(inv.freeTypes).sort(),
    unpriced: inv.unpriced,
    gaps,
    targets: {
      ...(idleTarget === undefined ? {} : { idle: idleTarget, idleMet: idleMonthly <= idleTarget }),
      perThousandMet: requestPathPerThousand <= TARGETS.perThousandRequests,
    },
  };
}

/** The whole report as written to reports/cost.json. */
export function costReport(envs: readonly EnvironmentCost[], source: string): Record<string, unknown> {
  return {
    generatedAt: new Date().toISOString(),
    templates: source,
    currency: 'USD',
    region: 'eu-central-1',
    freeTiersApplied: false,
    quoteVolume: QUOTE_VOLUME,
    assumptions: ASSUMPTIONS,
    prices: PRICES,
    modelPrices: MODEL_PRICES,
    environments: envs.map((e) => ({
      ...e,
      idleMonthly: round(e.idleMonthly, 2),
      idleItems: e.idleItems.map((i) => ({ ...i, monthly: round(i.monthly) })),
    })),
  };
}

const usd = (n: number, digits = 2) => `$${n.toFixed(digits)}`;
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

/** Renders the report as plain-text tables. */
export function renderCost(envs: readonly EnvironmentCost[]): string {
  const out: string[] = [];
  out.push('OmniChat cost (eu-central-1, USD, list prices, no free tiers)');
  out.push('');
  out.push(
    `${pad('env', 9)}${lpad('idle/mo', 10)}${lpad('req/1k', 9)}${lpad('+data', 8)}${lpad('+guard', 8)}${lpad('+users', 8)}` +
      VOLUMES.map((v) => lpad(`@${v / 1000}k/mo`, 11)).join(''),
  );
  for (const e of envs) {
    out.push(
      `${pad(e.envName, 9)}${lpad(usd(e.idleMonthly), 10)}${lpad(usd(e.perThousand.requestPath, 3), 9)}` +
        `${lpad(usd(e.perThousand.retainedData, 3), 8)}${lpad(usd(e.perThousand.guardrail, 2), 8)}` +
        `${lpad(usd(e.perThousand.cognito, 2), 8)}` +
        e.totals.map((t) => lpad(usd(t.totalExcludingTokens), 11)).join(''),
    );
  }
  out.push('');
  out.push(
    'req/1k: request path per 1,000 chat requests (Lambda, DynamoDB, KMS, WAF, ALB, logs, X-Ray, endpoints, archive)',
  );
  out.push(
    '+data: retained data (storage, PITR, backups, archive, log storage) at steady state, per 1,000 requests',
  );
  out.push(
    '+guard: Bedrock guardrail text units per 1,000 requests; +users: Cognito MAUs per 1,000 requests',
  );
  out.push('@N: monthly total without model tokens (idle + first-request fixed + all of the above x N)');
  for (const e of envs) {
    out.push('');
    out.push(`== ${e.envName}: idle ${usd(e.idleMonthly)}/month${targetText(e)}`);
    for (const [category, amount] of Object.entries(e.idleByCategory).sort((a, b) => b[1] - a[1]))
      out.push(`   ${pad(category, 12)}${lpad(usd(amount), 9)}`);
    const top = [...e.idleItems].sort((a, b) => b.monthly - a.monthly).slice(0, 6);
    out.push('   largest idle items:');
    for (const item of top) out.push(`     ${lpad(usd(item.monthly), 8)}  ${item.description}`);
    if (e.activeFixedItems.length > 0)
      out.push(
        `   fixed once traffic flows: ${e.activeFixedItems.map((i) => `${i.description} ${usd(i.monthly)}`).join('; ')}`,
      );
    out.push('   per 1,000 requests:');
    for (const c of e.perThousand.requestPathComponents)
      out.push(`     ${lpad(usd(c.perThousand, 4), 9)}  ${pad(c.service, 16)}${c.detail}`);
    out.push(
      `     model tokens per 1,000 requests (separate): ${Object.entries(e.perThousand.tokensByModel)
        .map(([m, v]) => `${m} ${usd(v)}`)
        .join(', ')}`,
    );
    if (e.unpriced.length > 0)
      out.push(`   UNPRICED: ${e.unpriced.map((u) => `${u.type} x${u.count} (${u.reason})`).join('; ')}`);
    else out.push('   unpriced resource types: none');
    for (const gap of e.gaps) out.push(`   note: ${gap}`);
  }
  return out.join('\n');
}

function targetText(e: EnvironmentCost): string {
  const parts: string[] = [];
  if (e.targets.idle !== undefined)
    parts.push(`target ${usd(e.targets.idle, 0)}: ${e.targets.idleMet ? 'met' : 'MISSED'}`);
  parts.push(
    `request path ${usd(e.perThousand.requestPath, 3)}/1k vs $0.05: ${e.targets.perThousandMet ? 'met' : 'MISSED'}`,
  );
  return ` (${parts.join('; ')})`;
}

/** The lines of a cost report that {@link renderChanges} compares (a subset of reports/cost.json). */
export interface CostBaseline {
  readonly description?: string;
  readonly environments: ReadonlyArray<{
    readonly envName: string;
    readonly idleMonthly: number;
    readonly idleItems: ReadonlyArray<{ readonly description: string; readonly monthly: number }>;
    readonly perThousand: {
      readonly requestPath: number;
      readonly requestPathComponents: ReadonlyArray<{
        readonly service: string;
        readonly detail: string;
        readonly perThousand: number;
      }>;
    };
  }>;
}

/** Reads a baseline: a previous reports/cost.json or the committed docs/cost-baseline.json. */
export function parseBaseline(json: unknown, source: string): CostBaseline {
  const envs = (json as { environments?: unknown } | null)?.environments;
  const valid =
    Array.isArray(envs) &&
    envs.every(
      (e) =>
        typeof e?.envName === 'string' &&
        typeof e.idleMonthly === 'number' &&
        Array.isArray(e.idleItems) &&
        Array.isArray(e.perThousand?.requestPathComponents),
    );
  if (!valid) throw new Error(`${source} is not a cost report (environments with idle items and components)`);
  return json as CostBaseline;
}

/** Differences smaller than this (USD) are rounding, not a moved line. */
const MOVED = 0.00005;

/**
 * Which lines moved against a baseline, per environment: the idle and request-path totals
 * before and after, then every idle item and per-1,000 component whose amount changed (or
 * that appeared or went). Request-path components are matched by service and their order
 * within it (their detail names the value that moved, e.g. the memory); idle items by
 * description (which names the resource).
 */
export function renderChanges(
  baseline: CostBaseline,
  envs: readonly EnvironmentCost[],
  source: string,
): string {
  const out: string[] = [
    `Lines that moved against ${source}${baseline.description ? `: ${baseline.description}` : ''}`,
  ];
  for (const e of envs) {
    const before = baseline.environments.find((b) => b.envName === e.envName);
    out.push('');
    if (!before) {
      out.push(`== ${e.envName}: not in the baseline`);
      continue;
    }
    const delta = (a: number, b: number, digits: number) => {
      const change = Math.round((b - a) * 10 ** digits) / 10 ** digits;
      return `${usd(a, digits)} -> ${usd(b, digits)} (${change < 0 ? '-' : '+'}${usd(Math.abs(change), digits)})`;
    };
    out.push(
      `== ${e.envName}: idle ${delta(before.idleMonthly, e.idleMonthly, 2)}/month; request path ${delta(before.perThousand.requestPath, e.perThousand.requestPath, 4)} per 1,000`,
    );
    const keyed = <T extends { service: string }>(items: readonly T[]) => {
      const seen = new Map<string, number>();
      return new Map(
        items.map((item) => {
          const n = seen.get(item.service) ?? 0;
          seen.set(item.service, n + 1);
          return [`${item.service}#${n}`, item] as const;
        }),
      );
    };
    const oldComponents = keyed(before.perThousand.requestPathComponents);
    const newComponents = keyed(e.perThousand.requestPathComponents);
    const moved: string[] = [];
    for (const key of new Set([...oldComponents.keys(), ...newComponents.keys()])) {
      const a = oldComponents.get(key);
      const b = newComponents.get(key);
      if (a && b && Math.abs(a.perThousand - b.perThousand) < MOVED) continue;
      const service = (a ?? b)!.service;
      const detail = a && b && a.detail !== b.detail ? `${a.detail} -> ${b.detail}` : (b ?? a)!.detail;
      moved.push(
        `     ${pad(service, 16)}${lpad(usd(a?.perThousand ?? 0, 4), 8)} -> ${lpad(usd(b?.perThousand ?? 0, 4), 8)}  ${detail}`,
      );
    }
    out.push(`   per 1,000 requests: ${moved.length === 0 ? 'no line moved' : `${moved.length} moved`}`);
    out.push(...moved);
    const oldIdle = new Map(before.idleItems.map((i) => [i.description, i.monthly]));
    const newIdle = new Map(e.idleItems.map((i) => [i.description, i.monthly]));
    const idleMoved: string[] = [];
    for (const description of new Set([...oldIdle.keys(), ...newIdle.keys()])) {
      const a = oldIdle.get(description) ?? 0;
      const b = newIdle.get(description) ?? 0;
      if (Math.abs(a - b) >= MOVED)
        idleMoved.push(`     ${lpad(usd(a), 8)} -> ${lpad(usd(b), 8)}  ${description}`);
    }
    out.push(`   idle: ${idleMoved.length === 0 ? 'no line moved' : `${idleMoved.length} moved`}`);
    out.push(...idleMoved);
  }
  return out.join('\n');
}
