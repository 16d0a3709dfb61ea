/**
 * Per-user limits through the real routes under concurrency: the admin sets them with
 * `PUT /api/v1/admin/settings`, then 50 simultaneous chat requests from one user meet the
 * token bucket and the daily token budget, which are enforced by conditional writes on
 * dynalite. Exactly the allowed number get through, the rest answer 429 with Retry-After,
 * and the stored counters agree with what was admitted and what the model really used.
 */
import type { ALBResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS_CACHE_MS } from '../../lambda/compose/services';
import { utcDay } from '../../lambda/limits/dynamodb-limit-store';
import { type Api, albEvent, errorBody, header, json, scanAll, startApi, userToken } from './harness';

let api: Api;
let version = 0;

beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.stop();
});

/** Changes the settings as an admin would, then lets every container's cache expire. */
async function setLimits(limits: Record<string, Record<string, number>>): Promise<void> {
  const admin = userToken(api, 'admin-0001', ['admin']);
  const result = await api.admin(
    albEvent('PUT', '/api/v1/admin/settings', {
      token: admin,
      body: { expectedVersion: version, changes: { limits } },
    }),
  );
  expect(result.statusCode, result.body).toBe(200);
  version = json<{ version: number }>(result).version;
  api.advance(SETTINGS_CACHE_MS + 1_000);
}

async function limitItems(sub: string) {
  const items = (await scanAll(api.dynamo, api.tables.limits)).filter((i) => i.pk?.S === `USER#${sub}`);
  const rate = items.find((i) => i.sk?.S === 'RATE');
  const tokens = items.find((i) => i.sk?.S === `TOKENS#${utcDay(api.now())}`);
  return { tat: Number(rate?.tat?.N ?? Number.NaN), used: Number(tokens?.used?.N ?? '0') };
}

const usageOf = (results: ALBResult[]) =>
  results
    .filter((r) => r.statusCode === 200)
    .map((r) => json<{ usage: { inputTokens: number; outputTokens: number } }>(r).usage)
    .reduce((sum, u) => sum + u.inputTokens + u.outputTokens, 0);

async function burst(token: string, count: number): Promise<ALBResult[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      api.chat(albEvent('POST', '/api/v1/chat', { token, body: { message: `request number ${i}` } })),
    ),
  );
}

describe('per-user limits under 50 concurrent requests', () => {
  it('admits exactly the burst of the token bucket; the rest get 429 with Retry-After', async () => {
    await setLimits({ user: { burst: 10, requestsPerMinute: 1 } });
    const sub = 'limits-user-0001';
    const token = userToken(api, sub);
    api.standIn.calls.length = 0;

    const results = await burst(token, 50);

    const statuses = results.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40);
    for (const refused of results.filter((r) => r.statusCode === 429)) {
      expect(errorBody(refused).error.code).toBe('rate_limited');
      // One request per minute: the next one fits within a minute.
      const retryAfter = Number(header(refused, 'Retry-After'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(header(refused, 'RateLimit-Remaining')).toBe('0');
      expect(header(refused, 'RateLimit-Limit')).toBe('10');
    }
    const remaining = results
      .filter((r) => r.statusCode === 200)
      .map((r) => Number(header(r, 'RateLimit-Remaining')))
      .sort((a, b) => a - b);
    expect(remaining).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Counters: one model call per admitted request, ten conversations, the bucket ten intervals
    // ahead, and the budget charged with exactly the usage the model reported.
    expect(api.standIn.calls).toHaveLength(10);
    const conversations = (await scanAll(api.dynamo, api.tables.conversations)).filter(
      (i) => i.pk?.S === `USER#${sub}` && i.sk?.S?.startsWith('CONV#'),
    );
    expect(conversations).toHaveLength(10);
    const { tat, used } = await limitItems(sub);
    expect(tat - api.now()).toBeGreaterThan(9 * 60_000);
    expect(tat - api.now()).toBeLessThanOrEqual(10 * 60_000);
    expect(used).toBe(usageOf(results));

    // A minute later exactly one more request fits.
    api.advance(60_000);
    const later = await burst(token, 5);
    expect(later.map((r) => r.statusCode).sort()).toEqual([200, 429, 429, 429, 429]);
  });

  it('never spends beyond the daily token budget, and charges exactly what the model used', async () => {
    const dailyTokens = 3_000;
    await setLimits({ developer: { burst: 100, requestsPerMinute: 60_000, dailyTokens } });
    const sub = 'limits-developer-0001';
    const token = userToken(api, sub, ['developer']);
    api.standIn.calls.length = 0;

    const results = await burst(token, 50);

    const admitted = results.filter((r) => r.statusCode === 200);
    const refused = results.filter((r) => r.statusCode !== 200);
    // Each reservation (prompt estimate + 1,024 output tokens) is over a third of the budget, so
    // at most two are outstanding at once; refunds after each reply let later ones in, but even
    // one after the other the real usage (~75 tokens each) exhausts the room well before 50.
    expect(admitted.length).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.statusCode).toBe(429);
      expect(errorBody(r).error.code).toBe('quota_exceeded');
      expect(Number(header(r, 'Retry-After'))).toBeGreaterThanOrEqual(1);
      expect(Number(header(r, 'X-Token-Budget-Remaining'))).toBeLessThan(dailyTokens);
      expect(header(r, 'X-Token-Budget-Limit')).toBe(String(dailyTokens));
    }
    // No model call without a reservation, and the stored counter is the real usage.
    expect(api.standIn.calls).toHaveLength(admitted.length);
    const { used } = await limitItems(sub);
    expect(used).toBe(usageOf(results));
    expect(used).toBeLessThanOrEqual(dailyTokens);
  });

  it("limits an API key to the tighter of its class and its owner, on the owner's bucket", async () => {
    await setLimits({
      apiKey: { burst: 3, requestsPerMinute: 1 },
      user: { burst: 10, requestsPerMinute: 1 },
    });
    const sub = 'limits-keyowner-0001';
    const token = userToken(api, sub);
    const created = await api.keys(
      albEvent('POST', '/api/v1/keys', { token, body: { name: 'bot', permissions: ['chat:write'] } }),
    );
    expect(created.statusCode, created.body).toBe(201);
    const apiKey = json<{ key: string }>(created).key;

    const viaKey = await Promise.all(
      Array.from({ length: 10 }, () =>
        api.chat(albEvent('POST', '/api/v1/chat', { apiKey, body: { message: 'from the bot' } })),
      ),
    );
    const viaSession = await burst(token, 10);

    // The key gets min(apiKey, user) = 3; what it took counts against its owner's 10.
    expect(viaKey.filter((r) => r.statusCode === 200)).toHaveLength(3);
    expect(viaKey.filter((r) => r.statusCode === 429)).toHaveLength(7);
    expect(viaSession.filter((r) => r.statusCode === 200)).toHaveLength(7);
  });
});
