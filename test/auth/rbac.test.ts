import { beforeAll, describe, expect, it } from 'vitest';
import {
  allowedMethods,
  GROUP_PRECEDENCE,
  GROUPS,
  type Group,
  matchRoute,
  PERMISSIONS,
  type Permission,
  permissionsForGroups,
  permissionsForScopes,
  RESOURCE_SERVER_SCOPES,
  ROUTES,
  SIGNED_IN_USER,
} from '../../lambda/auth/permissions';
import { authorize, type Principal } from '../../lambda/auth/principal';
import { createAccessTokenVerifier } from '../../lambda/auth/token-verifier';
import {
  generateSigningKey,
  jwksOf,
  machineAccessClaims,
  mint,
  type SigningKey,
  TEST_CLIENT_ID,
  TEST_ISSUER,
  userAccessClaims,
} from '../support/tokens';
import { albEvent, protectedHandler } from './harness';

// DESIGN.md section 5, transcribed by hand so a change to the code table cannot pass silently.
const DESIGN_MATRIX: Record<Permission, string> = {
  //                  admin operator developer user auditor
  'chat:read': '       Y     Y        Y         Y    -',
  'chat:write': '      Y     Y        Y         Y    -',
  'keys:manage': '     Y     Y        Y         Y    -',
  'audit:read': '      Y     Y        -         -    Y',
  'metrics:read': '    Y     Y        Y         -    Y',
  'model:manage': '    Y     -        -         -    -',
  'system:configure': 'Y     -        -         -    -',
};
const designAllows = (group: Group, permission: Permission): boolean =>
  DESIGN_MATRIX[permission].trim().split(/\s+/)[GROUPS.indexOf(group)] === 'Y';

const cells = GROUPS.flatMap((group) => PERMISSIONS.map((permission) => [group, permission] as const));

describe('groups x permissions', () => {
  it.each(cells)('%s has %s exactly as DESIGN.md says', (group, permission) => {
    // Act
    const granted = permissionsForGroups([group]);

    // Assess
    expect(granted.has(permission)).toBe(designAllows(group, permission));
  });

  it('a user in several groups gets the union', () => {
    expect([...permissionsForGroups(['user', 'auditor'])].sort()).toEqual(
      ['audit:read', 'chat:read', 'chat:write', 'keys:manage', 'metrics:read'].sort(),
    );
  });

  it.each([[['Admin']], [['admins']], [['admin ']], [['']], [['__proto__']], [[]]])(
    'unknown groups %j grant nothing',
    (groups) => {
      expect(permissionsForGroups(groups).size).toBe(0);
    },
  );

  it('exports the precedence the Identity stack gives the Cognito groups', () => {
    expect(GROUP_PRECEDENCE).toEqual({ admin: 0, operator: 10, developer: 20, user: 30, auditor: 40 });
  });
});

describe('scopes', () => {
  it.each(PERMISSIONS.map((permission) => [permission]))(
    '%s has exactly one scope that grants exactly it',
    (permission) => {
      // Prepare
      const scopes = RESOURCE_SERVER_SCOPES.filter((scope) => scope.permission === permission);

      // Act
      const granted = permissionsForScopes(scopes.map((scope) => scope.fullName));

      // Assess
      expect(scopes).toHaveLength(1);
      expect(scopes[0]?.fullName).toBe(`omnichat/${permission.replace(':', '.')}`);
      expect([...granted]).toEqual([permission]);
    },
  );

  it.each([
    ['openid email profile'],
    ['aws.cognito.signin.user.admin'],
    ['omnichat/chat:read'],
    ['other/chat.read'],
    ['OMNICHAT/chat.read'],
    ['omnichat/chat.read.extra'],
  ])('scope string %j grants nothing', (scope) => {
    expect(permissionsForScopes(scope).size).toBe(0);
  });

  it('parses the space-separated scope claim', () => {
    expect([...permissionsForScopes('openid omnichat/chat.write omnichat/audit.read')].sort()).toEqual([
      'audit:read',
      'chat:write',
    ]);
  });
});

describe('route table', () => {
  it.each([
    ['GET', '/healthz', '/healthz', {}],
    ['GET', '/api/v1/conversations/c_123-abc', '/api/v1/conversations/{id}', { id: 'c_123-abc' }],
    [
      'DELETE',
      '/api/v1/keys/key_AAAAAAAAAAAAAAAAAAAAAA',
      '/api/v1/keys/{id}',
      { id: 'key_AAAAAAAAAAAAAAAAAAAAAA' },
    ],
    ['GET', '/app/chat', '/app/*', {}],
    ['GET', '/app/assets/main.js', '/app/*', {}],
  ])('%s %s matches %s', (method, path, pattern, params) => {
    // Act
    const match = matchRoute(method, path);

    // Assess
    expect(match?.route.pattern).toBe(pattern);
    expect(match?.params).toEqual(params);
  });

  it.each([
    ['GET', '/api/v1/chat'],
    ['POST', '/api/v1/chat/'],
    ['get', '/healthz'],
    ['GET', '/api/v1/conversations/a/b'],
    ['GET', '/api/v1/conversations/'],
    ['GET', '/api/v1/conversations/%2e%2e'],
    ['GET', '/api/v1/admin/../keys'],
    ['GET', '/app/../api/v1/admin/settings'],
    ['GET', '/app/'],
    ['GET', '/app'],
    ['GET', '//healthz'],
    ['GET', '/api/v2/chat'],
    ['GET', '/unknown'],
    ['GET', `/api/v1/conversations/${'a'.repeat(129)}`],
    ['TRACE', '/healthz'],
  ])('%s %s matches nothing (deny by default)', (method, path) => {
    expect(matchRoute(method, path)).toBeUndefined();
  });

  it('lists allowed methods for a known path only', () => {
    expect(allowedMethods('/api/v1/keys')).toEqual(['GET', 'POST']);
    expect(allowedMethods('/nothing')).toEqual([]);
  });
});

let poolKey: SigningKey;
beforeAll(() => {
  poolKey = generateSigningKey('rbac-key');
});
const verifier = () =>
  createAccessTokenVerifier({ issuer: TEST_ISSUER, jwks: jwksOf(poolKey), clientIds: [TEST_CLIENT_ID] });
const concretePath = (pattern: string) =>
  pattern.replace('{id}', 'key_AAAAAAAAAAAAAAAAAAAAAA').replace('*', 'index.html');
const protectedRoutes = ROUTES.filter((route) => route.permission !== null);
const expectedStatus = (
  requirement: Permission | typeof SIGNED_IN_USER,
  allows: (permission: Permission) => boolean,
  isUser: boolean,
) => ((requirement === SIGNED_IN_USER ? isUser : allows(requirement)) ? 200 : 403);

describe('routes x groups through the claim check', () => {
  const routeCells = GROUPS.flatMap((group) =>
    protectedRoutes.map((route) => [route.method, route.pattern, group] as const),
  );

  it.each(routeCells)('%s %s as %s', async (method, pattern, group) => {
    // Prepare
    const requirement = ROUTES.find(
      (route) => route.method === method && route.pattern === pattern,
    )?.permission;
    const token = mint(userAccessClaims({ groups: [group] }), poolKey);
    const { invoke, decisions } = protectedHandler({ verifier: verifier() });

    // Act
    const response = await invoke(
      albEvent(method, concretePath(pattern), { authorization: `Bearer ${token}` }),
    );

    // Assess
    const expected = expectedStatus(requirement!, (permission) => designAllows(group, permission), true);
    expect(response.statusCode).toBe(expected);
    expect(decisions.at(-1)).toMatchObject({
      type: 'authz',
      outcome: expected === 200 ? 'allow' : 'deny',
      requirement,
    });
  });

  it('a token with no groups reaches only the signed-in pages and who-am-I', async () => {
    // Prepare
    const token = mint(userAccessClaims({ groups: [] }), poolKey);
    const { invoke } = protectedHandler({ verifier: verifier() });

    // Act
    const statuses = await Promise.all(
      protectedRoutes.map(async (route) => {
        const response = await invoke(
          albEvent(route.method, concretePath(route.pattern), { authorization: `Bearer ${token}` }),
        );
        return [`${route.method} ${route.pattern}`, response.statusCode] as const;
      }),
    );

    // Assess
    const open = new Set(['GET /', 'GET /app/*', 'GET /api/v1/me']);
    for (const [name, status] of statuses) expect(status, name).toBe(open.has(name) ? 200 : 403);
  });
});

describe('routes x scopes (machine clients)', () => {
  const scopeCells = RESOURCE_SERVER_SCOPES.flatMap((scope) =>
    protectedRoutes.map((route) => [route.method, route.pattern, scope.fullName] as const),
  );

  it.each(scopeCells)('%s %s with %s', async (method, pattern, scope) => {
    // Prepare
    const requirement = ROUTES.find(
      (route) => route.method === method && route.pattern === pattern,
    )?.permission;
    const token = mint(machineAccessClaims({ scopes: [scope] }), poolKey);
    const { invoke } = protectedHandler({ verifier: verifier() });

    // Act
    const response = await invoke(
      albEvent(method, concretePath(pattern), { authorization: `Bearer ${token}` }),
    );

    // Assess
    const grants = RESOURCE_SERVER_SCOPES.find((entry) => entry.fullName === scope)?.permission;
    expect(response.statusCode).toBe(
      expectedStatus(requirement!, (permission) => permission === grants, false),
    );
  });
});

describe('public and unknown routes', () => {
  it('GET /healthz needs no credentials and records no decision', async () => {
    // Prepare
    const { invoke, decisions } = protectedHandler({ verifier: verifier() });

    // Act
    const response = await invoke(albEvent('GET', '/healthz'));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(decisions).toEqual([]);
  });

  it.each([
    ['GET', '/api/v1/unknown', 404],
    ['GET', '/api/v1/chat', 405],
    ['PATCH', '/api/v1/keys', 405],
  ])('%s %s answers %i, audited as a denial, even for an admin', async (method, path, status) => {
    // Prepare
    const token = mint(userAccessClaims({ groups: ['admin'] }), poolKey);
    const { invoke, decisions } = protectedHandler({ verifier: verifier() });

    // Act
    const response = await invoke(albEvent(method, path, { authorization: `Bearer ${token}` }));

    // Assess
    expect(response.statusCode).toBe(status);
    expect(decisions).toEqual([
      expect.objectContaining({ type: 'authz', outcome: 'deny', reason: 'route_not_found' }),
    ]);
  });

  it('fails closed with 503 when the decision cannot be recorded', async () => {
    // Prepare
    const token = mint(userAccessClaims({ groups: ['admin'] }), poolKey);
    const { invoke } = protectedHandler({
      verifier: verifier(),
      onDecision: async () => {
        throw new Error('audit table unavailable');
      },
    });

    // Act
    const response = await invoke(albEvent('POST', '/api/v1/chat', { authorization: `Bearer ${token}` }));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.body).not.toContain('"kind"');
    expect(response.body).not.toContain('audit table unavailable');
  });
});

describe('authorize', () => {
  const apiKeyPrincipal: Principal = {
    kind: 'apiKey',
    sub: 'u',
    groups: ['admin'],
    clientId: null,
    keyId: 'key_AAAAAAAAAAAAAAAAAAAAAA',
    permissions: new Set<Permission>(PERMISSIONS),
  };

  it('an API key cannot open the browser pages, whatever it carries', () => {
    expect(authorize(apiKeyPrincipal, SIGNED_IN_USER)).toEqual({
      allowed: false,
      reason: 'requires_user_session',
    });
  });

  it('no principal is never authorized for a protected requirement', () => {
    expect(authorize(undefined, 'chat:read')).toEqual({ allowed: false, reason: 'missing_permission' });
  });
});
