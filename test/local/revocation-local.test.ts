/**
 * Issue 17 in local mode, black-box: the service started in-process on a throw-away data
 * directory, user changes made with the real CLI (`npm run local -- --set-groups ...`, a
 * separate process writing the users file) while the service runs, and every check made over
 * HTTP. Also the sign-in hardening: Origin, throttling with an audited lockout, POST-only
 * sign-out, scrypt cost and re-hash, the bounded session map, idempotent key revocation, and
 * the edge's rejections in the audit trail.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRYPT } from '../../lambda/local/issuer';
import { type LocalService, startLocalService } from '../../scripts/local-service';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const PASSWORD = 'Correct-Horse-42-battery';
/** The directory cache of this service: with the 250 ms users-file poll, the bound under test. */
const CACHE_SECONDS = 1;
const BOUND_MS = CACHE_SECONDS * 1000 + 1_000;

let dir: string;
let service: LocalService;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'omnichat-revocation-'));
  service = await startLocalService({
    dir,
    port: 0,
    ownerCacheSeconds: CACHE_SECONDS,
    logError: () => undefined,
  });
}, 60_000);

afterAll(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * fetch with one retry on ECONNRESET: the test creates users in-process with synchronous
 * scrypt (N = 2^17, ~0.4 s each), which blocks the event loop both the client and the server
 * run on, so a pooled keep-alive connection can be closed by the server just as it is reused.
 */
async function fetch(input: string, init?: RequestInit): Promise<Response> {
  try {
    return await globalThis.fetch(input, init);
  } catch (error) {
    if ((error as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw error;
    return globalThis.fetch(input, init);
  }
}

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** `npm run local -- ARGS` against the running service's data directory. */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(TSX, ['scripts/local.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, OMNICHAT_LOCAL_DIR: dir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function signIn(email: string, password = PASSWORD, origin: string | null = service.url) {
  return fetch(`${service.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      ...(origin === null ? {} : { Origin: origin }),
    },
    body: new URLSearchParams({ email, password }).toString(),
  });
}

async function session(email: string): Promise<string> {
  const response = await signIn(email);
  expect(response.headers.get('location')).toBe('/app/chat');
  return (response.headers.get('set-cookie') ?? '').split(';')[0]!;
}

async function get(path: string, headers: Record<string, string>): Promise<number> {
  return (await fetch(`${service.url}${path}`, { headers })).status;
}

/** Polls until `probe` answers `expected`; the milliseconds it took (the measured bound). */
async function within(probe: () => Promise<number>, expected: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const got = await probe();
    const elapsed = Date.now() - started;
    if (got === expected) return elapsed;
    if (elapsed > BOUND_MS) throw new Error(`still ${got} after ${elapsed} ms (bound ${BOUND_MS} ms)`);
    await sleep(25);
  }
}

interface AuditView {
  type: string;
  resource: string;
  outcome: string;
  actor: { sub?: string; sourceIp?: string };
  details: { reason?: string; fields?: Record<string, unknown> };
}

let auditorCookie: string | undefined;
/** The audit trail of one type, read as an auditor reads it (GET /api/v1/admin/audit). */
async function auditEvents(type: string): Promise<AuditView[]> {
  if (auditorCookie === undefined) {
    service.issuer.createUser('auditor@example.com', PASSWORD, ['auditor']);
    auditorCookie = await session('auditor@example.com');
  }
  const response = await fetch(`${service.url}/api/v1/admin/audit?type=${type}&limit=100`, {
    headers: { Cookie: auditorCookie },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { events: AuditView[] }).events;
}

const measured: Record<string, number> = {};

describe('issue 17 in local mode: the CLI changes a running service within the bound', () => {
  afterAll(() => {
    console.log(
      `local mode, measured revocation bound (cache ${CACHE_SECONDS} s + 250 ms poll): ${JSON.stringify(measured)}`,
    );
  });

  it('demote, disable, re-enable and erase reach key, session and old session', async () => {
    // Prepare: an admin with a key carrying admin permissions.
    expect(cli('--create-user', 'boss@example.com', '--group', 'admin', '--password', PASSWORD).status).toBe(
      0,
    );
    const adminSession = await session('boss@example.com');
    const created = await fetch(`${service.url}/api/v1/keys`, {
      method: 'POST',
      headers: { Cookie: adminSession, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'ops', permissions: ['audit:read', 'system:configure', 'chat:read'] }),
    });
    expect(created.status).toBe(201);
    const apiKey = { 'x-api-key': ((await created.json()) as { key: string }).key };
    expect(await get('/api/v1/admin/audit', apiKey)).toBe(200);
    await sleep(1_000);

    // Act 1: demotion while the service runs.
    const demoted = cli('--set-groups', 'boss@example.com', 'user');
    expect(demoted.status, demoted.stderr).toBe(0);
    expect(demoted.stdout).toMatch(/boss@example.com now holds user/);

    // Assess 1
    measured.demotionKey = await within(() => get('/api/v1/admin/audit', apiKey), 403);
    expect(await get('/api/v1/admin/settings', apiKey)).toBe(403);
    measured.demotionOldSession = await within(
      () => get('/api/v1/admin/settings', { Cookie: adminSession }),
      401,
    );
    const minted = await fetch(`${service.url}/api/v1/keys`, {
      method: 'POST',
      headers: { Cookie: adminSession, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'again', permissions: ['audit:read'] }),
    });
    expect(minted.status).toBe(401);
    await sleep(1_000);
    const userSession = await session('boss@example.com');
    expect(await get('/api/v1/admin/audit', { Cookie: userSession })).toBe(403);
    expect(await get('/api/v1/conversations', apiKey)).toBe(200);

    // Act 2: disable.
    expect(cli('--disable-user', 'boss@example.com').status).toBe(0);

    // Assess 2: 401 everywhere, and no new sign-in.
    measured.disableKey = await within(() => get('/api/v1/conversations', apiKey), 401);
    expect(await get('/api/v1/conversations', { Cookie: userSession })).toBe(401);
    expect((await signIn('boss@example.com')).headers.get('location')).toBe('/login?failed=1');

    // Act 3: re-enable.
    expect(cli('--enable-user', 'boss@example.com').status).toBe(0);

    // Assess 3: the key works again with the CURRENT groups only; old sessions stay revoked.
    measured.enableKey = await within(() => get('/api/v1/conversations', apiKey), 200);
    expect(await get('/api/v1/admin/audit', apiKey)).toBe(403);
    expect(await get('/api/v1/conversations', { Cookie: userSession })).toBe(401);
    await sleep(1_000);
    const fresh = await session('boss@example.com');
    expect(await get('/api/v1/conversations', { Cookie: fresh })).toBe(200);

    // Act 4: erasure.
    const erased = await fetch(`${service.url}/api/v1/me`, { method: 'DELETE', headers: { Cookie: fresh } });
    expect(erased.status).toBe(200);

    // Assess 4
    measured.erasureSession = await within(() => get('/api/v1/conversations', { Cookie: fresh }), 401);
    expect(await get('/api/v1/conversations', apiKey)).toBe(401);
  }, 120_000);

  it('the CLI refuses an unknown group or user with a clear message and exit 1', () => {
    const unknownGroup = cli('--set-groups', 'boss@example.com', 'root');
    const unknownUser = cli('--disable-user', 'nobody@example.com');

    expect(unknownGroup.status).toBe(1);
    expect(unknownGroup.stderr).toMatch(/Unknown group\(s\) root/);
    expect(unknownUser.status).toBe(1);
    expect(unknownUser.stderr).toMatch(/No local user nobody@example.com/);
  }, 60_000);
});

describe('local sign-in hardening', () => {
  beforeAll(() => {
    for (const email of ['ann@example.com', 'bea@example.com', 'cid@example.com']) {
      service.issuer.createUser(email, PASSWORD, ['user']);
    }
  });

  it('POST /login needs a same-origin Origin: missing, foreign and null are refused', async () => {
    for (const origin of [null, 'https://evil.example', 'null']) {
      const response = await signIn('ann@example.com', PASSWORD, origin);
      expect(response.status, String(origin)).toBe(403);
      expect(response.headers.get('set-cookie')).toBeNull();
    }
  });

  it('locks an account after 5 wrong passwords, with back-off, even for the right one', async () => {
    const answers: number[] = [];
    for (let i = 0; i < 7; i++)
      answers.push((await signIn('bea@example.com', `${PASSWORD}-wrong-${i}`)).status);
    const right = await signIn('bea@example.com');

    expect(answers.slice(0, 6)).toEqual([303, 303, 303, 303, 303, 303]);
    expect(answers[6]).toBe(429);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await right.json()).toMatchObject({ error: { code: 'too_many_requests' } });
    // Another account from the same address is not locked by it.
    expect((await signIn('cid@example.com')).headers.get('location')).toBe('/app/chat');
  }, 60_000);

  it('signs out only by a same-origin POST; GET /logout is a confirmation page', async () => {
    const cookie = await session('cid@example.com');

    const viaGet = await fetch(`${service.url}/logout`, { redirect: 'manual', headers: { Cookie: cookie } });
    const crossSite = await fetch(`${service.url}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { Cookie: cookie, Origin: 'https://evil.example' },
    });
    const stillIn = await get('/api/v1/conversations', { Cookie: cookie });
    const viaPost = await fetch(`${service.url}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { Cookie: cookie, Origin: service.url },
    });

    expect(viaGet.status).toBe(200);
    expect(await viaGet.text()).toMatch(/<form method="post" action="\/logout">/);
    expect(crossSite.status).toBe(403);
    expect(stillIn).toBe(200);
    expect(viaPost.status).toBe(303);
    expect(await get('/api/v1/conversations', { Cookie: cookie })).toBe(401);
  });

  it('hashes with scrypt N = 2^17 and re-hashes a cheaper legacy hash at the next sign-in', async () => {
    // Prepare: a user stored as before issue 17 (N = 2^14, no scryptN field).
    service.issuer.createUser('old@example.com', PASSWORD, ['user']);
    const file = join(dir, 'users.json');
    const users = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
    const old = users.find((user) => user.email === 'old@example.com')!;
    const salt = randomBytes(16).toString('base64');
    old.salt = salt;
    old.hash = scryptSync(PASSWORD, salt, 32, { N: 16_384, r: 8, p: 1 }).toString('base64');
    delete old.scryptN;
    writeFileSync(file, JSON.stringify(users, null, 2), { mode: 0o600 });

    // Act
    const response = await signIn('old@example.com');

    // Assess
    expect(response.headers.get('location')).toBe('/app/chat');
    const after = (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[]).find(
      (user) => user.email === 'old@example.com',
    )!;
    expect(SCRYPT.N).toBeGreaterThanOrEqual(2 ** 17);
    expect(after.scryptN).toBe(SCRYPT.N);
    expect(after.salt).not.toBe(salt);
    expect((await signIn('old@example.com')).headers.get('location')).toBe('/app/chat');
  }, 60_000);

  it('revoking a revoked key answers 200 again without a second API_KEY_REVOKED', async () => {
    const cookie = await session('ann@example.com');
    const created = await fetch(`${service.url}/api/v1/keys`, {
      method: 'POST',
      headers: { Cookie: cookie, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'once', permissions: ['chat:read'] }),
    });
    const { summary } = (await created.json()) as { summary: { keyId: string } };
    const revoke = () =>
      fetch(`${service.url}/api/v1/keys/${summary.keyId}`, { method: 'DELETE', headers: { Cookie: cookie } });

    const first = await revoke();
    const second = await revoke();

    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(((await second.json()) as { revokedAt: string }).revokedAt).toBe(
      ((await first.json()) as { revokedAt: string }).revokedAt,
    );
    const revocations = (await auditEvents('API_KEY_REVOKED')).filter(
      (e) => e.resource === `apikey/${summary.keyId}`,
    );
    expect(revocations).toHaveLength(1);
  });

  it('audits sign-ins (AUTH_SIGN_IN, e-mail pseudonymized, source address) and the lockout', async () => {
    const events = await auditEvents('AUTH_SIGN_IN');
    const text = JSON.stringify(events);

    expect(events.some((e) => e.outcome === 'success' && e.actor.sub !== undefined)).toBe(true);
    expect(events.some((e) => e.outcome === 'failure' && e.details.reason === 'bad_credentials')).toBe(true);
    expect(events.filter((e) => e.details.reason === 'locked_out_account')).toHaveLength(1);
    expect(events.every((e) => /^[0-9a-f]{16}$/.test(String(e.details.fields?.emailHash)))).toBe(true);
    expect(events.every((e) => e.actor.sourceIp !== undefined)).toBe(true);
    expect(text).not.toMatch(/@example\.com/);
  });

  it("records the edge's own rejections (forged bearer token, no session) through the audit writer", async () => {
    const forged = await get('/api/v1/conversations', { Authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' });
    const noSession = await get('/api/v1/conversations', {});

    expect([forged, noSession]).toEqual([401, 401]);
    const edge = (await auditEvents('AUTHN_FAILURE')).filter((e) => e.details.fields?.layer === 'edge');
    expect(edge.map((e) => e.details.fields?.credential)).toEqual(
      expect.arrayContaining(['authorization', 'session']),
    );
  });
});
