import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeFunction, sharedPortsOf } from '../../lambda/compose/compose-function';
import type { SharedPorts } from '../../lambda/compose/shared-ports';
import { LocalDataKeys } from '../../lambda/crypto/local-data-keys';
import { handler as health } from '../../lambda/functions/health';
import { localAdapters } from '../../lambda/local/compose';
import { LocalIssuer } from '../../lambda/local/issuer';
import { apiTargetOf, createLocalServer, type LocalTargets } from '../../lambda/local/server';
import { apiKeysTable, auditTable } from '../../lib/data/table-schemas';
import { DEPLOY } from '../api/harness';
import { type DynaliteHandle, startDynalite } from '../support/dynalite';

const PASSWORD = 'Correct-Horse-42-battery';
let dir: string;
let dynamo: DynaliteHandle;
let server: Server;
let base: string;
let issuer: LocalIssuer;
let shared: SharedPorts;
let targets: LocalTargets;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'omnichat-local-'));
  dynamo = await startDynalite();
  const names = await dynamo.createTables([apiKeysTable, auditTable]);
  issuer = new LocalIssuer({ dir, issuer: 'http://127.0.0.1/local-issuer' });
  issuer.createUser('Ada@Example.com', PASSWORD, ['user']);
  // Local mode's adapters and the composition root, as scripts/local-service.ts wires them.
  const adapters = localAdapters({
    dynamo: dynamo.client,
    tables: { apiKeys: names[apiKeysTable.id]!, audit: names[auditTable.id]! },
    issuer,
    dataKeys: new LocalDataKeys(randomBytes(32)),
    deploy: DEPLOY,
    auditRetentionDays: 7,
  });
  shared = sharedPortsOf(adapters);
  const { handler: keys } = await composeFunction('keys', adapters);
  const unused = (): never => {
    throw new Error('not part of this test');
  };
  targets = { health, keys, chat: unused, history: unused };
  server = createLocalServer({
    targets,
    issuer,
    verifier: shared.verifier,
    loginStylesheet: 'body{}',
    audit: shared.audit,
    directory: shared.owners,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await dynamo.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function signIn(email = 'ada@example.com', password = PASSWORD): Promise<Response> {
  return fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: base },
    body: new URLSearchParams({ email, password }).toString(),
  });
}

const cookieOf = (response: Response): string => (response.headers.get('set-cookie') ?? '').split(';')[0]!;

describe('local edge session map', () => {
  it('holds at most maxSessions sessions: beyond it the oldest is dropped', async () => {
    // Prepare: a second edge on the same store that keeps two sessions at most.
    const small = createLocalServer({
      targets,
      issuer,
      verifier: shared.verifier,
      audit: shared.audit,
      directory: shared.owners,
      maxSessions: 2,
    });
    await new Promise<void>((resolve) => small.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(small.address() as AddressInfo).port}`;
    const signInTo = async () =>
      cookieOf(
        await fetch(`${url}/login`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: url },
          body: new URLSearchParams({ email: 'ada@example.com', password: PASSWORD }).toString(),
        }),
      );
    try {
      // Act
      const first = await signInTo();
      const second = await signInTo();
      const third = await signInTo();
      const statusWith = async (cookie: string) =>
        (await fetch(`${url}/api/v1/keys`, { headers: { Cookie: cookie } })).status;

      // Assess
      expect(await statusWith(first)).toBe(401);
      expect(await statusWith(second)).toBe(200);
      expect(await statusWith(third)).toBe(200);
    } finally {
      await new Promise((resolve) => small.close(resolve));
    }
  }, 30_000);
});

describe('local edge (the load balancer part of local mode)', () => {
  it('answers the health check without credentials', async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    // HEAD like the listener rule; anything else is not a health check.
    expect((await fetch(`${base}/healthz`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(404);
  });

  it('serves only its own host names (DNS rebinding)', async () => {
    const statusWithHost = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${base}/healthz`, { headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    const port = new URL(base).port;
    expect(await statusWithHost(`127.0.0.1:${port}`)).toBe(200);
    expect(await statusWithHost(`localhost:${port}`)).toBe(200);
    expect(await statusWithHost(`evil.example:${port}`)).toBe(400);
    expect(await statusWithHost('127.0.0.1')).toBe(400);
  });

  it('routes only key-shaped x-api-key headers as API keys, like the listener rule', async () => {
    const response = await fetch(`${base}/api/v1/keys`, { headers: { 'x-api-key': 'not-a-key' } });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe('Sign in first.');
  });

  it('refuses the API without credentials, with a JSON error', async () => {
    const response = await fetch(`${base}/api/v1/keys`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
  });

  it('refuses a bad Bearer token at the edge, before any function runs', async () => {
    const response = await fetch(`${base}/api/v1/keys`, { headers: { Authorization: 'Bearer not.a.token' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('passes a valid Bearer token to the function, which verifies it again', async () => {
    // The sign-in records the user in the owner directory (tokens of unknown subjects are refused).
    await signIn();
    const [user] = issuer.users();
    const token = issuer.mintAccessToken(user!);
    const response = await fetch(`${base}/api/v1/keys`, { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ items: [] });
  });

  it('signs in with the password, sets a strict httpOnly session cookie, and serves the API with it', async () => {
    const response = await signIn();
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/app/chat');
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Max-Age=3600/);
    const api = await fetch(`${base}/api/v1/keys`, { headers: { Cookie: cookieOf(response) } });
    expect(api.status).toBe(200);
  });

  it.each(['/login', '/logout'])(
    'serves %s with a referrer policy that keeps the Origin header on its own form post',
    async (path) => {
      // Under no-referrer, browsers send `Origin: null` with the form, and the Origin check refuses it.
      const response = await fetch(`${base}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('referrer-policy')).toBe('same-origin');
      expect(response.headers.get('content-security-policy')).toMatch(/form-action 'self'/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    },
  );

  it('refuses a wrong password and a cross-site sign-in', async () => {
    const wrong = await signIn('ada@example.com', 'Wrong-password-123456');
    expect(wrong.status).toBe(303);
    expect(wrong.headers.get('location')).toBe('/login?failed=1');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const crossSite = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://evil.example' },
      body: new URLSearchParams({ email: 'ada@example.com', password: PASSWORD }).toString(),
    });
    expect(crossSite.status).toBe(403);
  });

  it('strips a client-supplied ALB identity header', async () => {
    const [user] = issuer.users();
    const response = await fetch(`${base}/api/v1/keys`, {
      headers: { 'x-amzn-oidc-accesstoken': issuer.mintAccessToken(user!) },
    });
    expect(response.status).toBe(401);
  });

  it('sends a signed-out browser to the login page and a signed-out session nowhere', async () => {
    const page = await fetch(`${base}/app/chat`, { redirect: 'manual' });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login');
    const cookie = cookieOf(await signIn());
    const out = await fetch(`${base}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { Cookie: cookie, Origin: base },
    });
    expect(out.status).toBe(303);
    expect((await fetch(`${base}/api/v1/keys`, { headers: { Cookie: cookie } })).status).toBe(401);
  });

  it('answers unknown paths 404 and oversized bodies 413, both as JSON', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/api/v2/anything`)).status).toBe(404);
    const big = await fetch(`${base}/api/v1/keys`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(70_000) }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('routes API paths to the function that owns them', () => {
    expect(apiTargetOf('/api/v1/chat')).toBe('chat');
    expect(apiTargetOf('/api/v1/models')).toBe('chat');
    expect(apiTargetOf('/api/v1/conversations/c1')).toBe('history');
    expect(apiTargetOf('/api/v1/me/export')).toBe('history');
    expect(apiTargetOf('/api/v1/keys/k1')).toBe('keys');
    expect(apiTargetOf('/api/v1/admin/audit')).toBe('admin');
    expect(apiTargetOf('/api/v1/chatty')).toBeUndefined();
  });
});

describe('local issuer', () => {
  it('keeps its key and users in 0600 files and enforces the password policy', () => {
    expect(statSync(join(dir, 'issuer-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'users.json')).mode & 0o777).toBe(0o600);
    expect(() => issuer.createUser('bob@example.com', 'short', ['user'])).toThrow(/at least 14/);
    expect(() => issuer.createUser('bob@example.com', PASSWORD, ['root'])).toThrow(/Unknown group/);
    expect(() => issuer.createUser('ADA@example.com', PASSWORD, ['user'])).toThrow(/already exists/);
  });

  it('survives a restart: same key id, same users', async () => {
    const again = new LocalIssuer({ dir, issuer: 'http://127.0.0.1/local-issuer' });
    expect(again.kid).toBe(issuer.kid);
    expect(again.users()).toEqual(issuer.users());
    expect((await again.authenticate('ada@example.com', PASSWORD))?.email).toBe('ada@example.com');
    expect(await again.authenticate('ada@example.com', `${PASSWORD}x`)).toBeUndefined();
  });
});
