/**
 * The one permissions table of the service (DESIGN.md section 5). The claim checks, the
 * Identity stack (groups, precedence, resource-server scopes) and docs/permissions.md are all
 * derived from the constants below, so a permission cannot be granted in one place and
 * forgotten in another. Anything not listed here is denied.
 */

/** Cognito groups, most privileged first. */
export const GROUPS = ['admin', 'operator', 'developer', 'user', 'auditor'] as const;
/** A Cognito group known to the service. */
export type Group = (typeof GROUPS)[number];

/** Cognito group precedence (lower wins when a user is in several groups); the CDK reads this. */
export const GROUP_PRECEDENCE: Readonly<Record<Group, number>> = {
  admin: 0,
  operator: 10,
  developer: 20,
  user: 30,
  auditor: 40,
};

/** One-line description of each group, used for the Cognito group and the docs. */
export const GROUP_DESCRIPTIONS: Readonly<Record<Group, string>> = {
  admin: 'Full control: chat, keys, audit, metrics, models and system settings.',
  operator: 'Runs the service: chat, keys, audit and metrics.',
  developer: 'Builds on the service: chat, keys and metrics.',
  user: 'Chats and manages personal API keys.',
  auditor: 'Reads the audit trail and metrics; cannot chat.',
};

/** Every permission a route can require. */
export const PERMISSIONS = [
  'chat:read',
  'chat:write',
  'keys:manage',
  'audit:read',
  'metrics:read',
  'model:manage',
  'system:configure',
] as const;
/** A permission known to the service. */
export type Permission = (typeof PERMISSIONS)[number];

/** Identifier of the Cognito resource server; scopes are `omnichat/<name>`. */
export const RESOURCE_SERVER_IDENTIFIER = 'omnichat';

/** A resource-server scope and the permission it grants to a machine client. */
export interface ResourceServerScope {
  /** Scope name inside the resource server, e.g. `chat.read`. */
  readonly scopeName: string;
  /** Full scope as it appears in the token's `scope` claim, e.g. `omnichat/chat.read`. */
  readonly fullName: string;
  /** Description shown by Cognito. */
  readonly scopeDescription: string;
  /** The one permission this scope grants. */
  readonly permission: Permission;
}

const PERMISSION_DESCRIPTIONS: Readonly<Record<Permission, string>> = {
  'chat:read': 'Read own conversations, export own data and list models',
  'chat:write': 'Chat with the model, delete own conversations and erase own data',
  'keys:manage': 'Create, list and revoke own personal API keys',
  'audit:read': 'Query the audit trail',
  'metrics:read': 'Read service metrics',
  'model:manage': 'Change the model allow-list',
  'system:configure': 'Change runtime settings',
};

/** One scope per permission (`chat:read` -> `omnichat/chat.read`); the CDK builds the resource server from it. */
export const RESOURCE_SERVER_SCOPES: readonly ResourceServerScope[] = PERMISSIONS.map((permission) => {
  const scopeName = permission.replace(':', '.');
  return {
    scopeName,
    fullName: `${RESOURCE_SERVER_IDENTIFIER}/${scopeName}`,
    scopeDescription: PERMISSION_DESCRIPTIONS[permission],
    permission,
  };
});

/** Human description of a permission, for the docs. */
export function describePermission(permission: Permission): string {
  return PERMISSION_DESCRIPTIONS[permission];
}

const CHAT: readonly Permission[] = ['chat:read', 'chat:write', 'keys:manage'];

/** Group -> permissions. This is the table of DESIGN.md section 5. */
export const GROUP_PERMISSIONS: Readonly<Record<Group, readonly Permission[]>> = {
  admin: [...CHAT, 'audit:read', 'metrics:read', 'model:manage', 'system:configure'],
  operator: [...CHAT, 'audit:read', 'metrics:read'],
  developer: [...CHAT, 'metrics:read'],
  user: [...CHAT],
  auditor: ['audit:read', 'metrics:read'],
};

const GROUP_SET: ReadonlySet<string> = new Set(GROUPS);
const PERMISSION_SET: ReadonlySet<string> = new Set(PERMISSIONS);
const SCOPE_TO_PERMISSION: ReadonlyMap<string, Permission> = new Map(
  RESOURCE_SERVER_SCOPES.map((scope) => [scope.fullName, scope.permission]),
);

/** Narrows a string to a known group. */
export function isGroup(value: string): value is Group {
  return GROUP_SET.has(value);
}

/** Narrows a string to a known permission. */
export function isPermission(value: string): value is Permission {
  return PERMISSION_SET.has(value);
}

/** Union of the permissions of the given groups; unknown group names grant nothing. */
export function permissionsForGroups(groups: readonly string[]): Set<Permission> {
  const granted = new Set<Permission>();
  for (const group of groups) {
    if (!isGroup(group)) continue;
    for (const permission of GROUP_PERMISSIONS[group]) granted.add(permission);
  }
  return granted;
}

/**
 * Permissions granted by OAuth scopes (machine clients). Accepts the space-separated `scope`
 * claim or a list; scopes outside the `omnichat` resource server (openid, email, ...) grant nothing.
 */
export function permissionsForScopes(scopes: string | readonly string[]): Set<Permission> {
  const list = typeof scopes === 'string' ? scopes.split(' ') : scopes;
  const granted = new Set<Permission>();
  for (const scope of list) {
    const permission = SCOPE_TO_PERMISSION.get(scope);
    if (permission) granted.add(permission);
  }
  return granted;
}

/** Requirement for routes of the web chat page: any signed-in browser user, no specific permission. */
export const SIGNED_IN_USER = 'signed-in-user' as const;

/** What a route requires: a permission, a signed-in browser user, or nothing (`null`, public). */
export type RouteRequirement = Permission | typeof SIGNED_IN_USER | null;

/** HTTP methods the service answers. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One row of the route table. */
export interface RouteRule {
  readonly method: HttpMethod;
  /** Literal segments, `{name}` for one segment, or a trailing `*` for any rest of the path. */
  readonly pattern: string;
  readonly permission: RouteRequirement;
  /** Whether the handler must also check that the caller owns the resource (404 if not). */
  readonly ownerOnly: boolean;
}

const route = (
  method: HttpMethod,
  pattern: string,
  permission: RouteRequirement,
  ownerOnly = false,
): RouteRule => ({ method, pattern, permission, ownerOnly });

/** Method + path -> requirement. A request matching no row is denied. */
export const ROUTES: readonly RouteRule[] = [
  route('GET', '/healthz', null),
  route('POST', '/api/v1/chat', 'chat:write'),
  route('GET', '/api/v1/conversations', 'chat:read', true),
  route('GET', '/api/v1/conversations/{id}', 'chat:read', true),
  route('DELETE', '/api/v1/conversations/{id}', 'chat:write', true),
  route('GET', '/api/v1/me', SIGNED_IN_USER),
  route('GET', '/api/v1/me/export', 'chat:read', true),
  route('DELETE', '/api/v1/me', 'chat:write', true),
  route('GET', '/api/v1/keys', 'keys:manage', true),
  route('POST', '/api/v1/keys', 'keys:manage', true),
  route('DELETE', '/api/v1/keys/{id}', 'keys:manage', true),
  route('GET', '/api/v1/models', 'chat:read'),
  route('GET', '/api/v1/admin/settings', 'system:configure'),
  route('PUT', '/api/v1/admin/settings', 'system:configure'),
  route('PUT', '/api/v1/admin/models', 'model:manage'),
  route('GET', '/api/v1/admin/audit', 'audit:read'),
  route('GET', '/', SIGNED_IN_USER),
  route('GET', '/app/*', SIGNED_IN_USER),
];

/** A route table row matched against a request, with its path parameters. */
export interface RouteMatch {
  readonly route: RouteRule;
  readonly params: Readonly<Record<string, string>>;
}

// One path parameter: ids in this service are short and URL-safe; anything else cannot be ours.
const PARAM_SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;
// Rest of an `/app/*` path: plain file-like segments only, so `..` and encoded tricks never match.
const REST_SEGMENT = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_PATH_LENGTH = 2048;

function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  if (pattern === path) return {};
  const patternSegments = pattern.split('/');
  const pathSegments = path.split('/');
  const params: Record<string, string> = {};
  for (let index = 0; index < patternSegments.length; index++) {
    const expected = patternSegments[index]!;
    if (expected === '*' && index === patternSegments.length - 1) {
      const rest = pathSegments.slice(index);
      const valid =
        rest.length > 0 && rest.every((segment) => REST_SEGMENT.test(segment) && !/^\.+$/.test(segment));
      return valid ? params : undefined;
    }
    const actual = pathSegments[index];
    if (actual === undefined) return undefined;
    if (expected.startsWith('{') && expected.endsWith('}')) {
      if (!PARAM_SEGMENT.test(actual)) return undefined;
      params[expected.slice(1, -1)] = actual;
    } else if (expected !== actual) {
      return undefined;
    }
  }
  return patternSegments.length === pathSegments.length ? params : undefined;
}

/** Finds the route for a request; `undefined` (deny) when no row matches exactly. */
export function matchRoute(method: string, path: string): RouteMatch | undefined {
  if (path.length > MAX_PATH_LENGTH) return undefined;
  for (const rule of ROUTES) {
    if (rule.method !== method) continue;
    const params = matchPattern(rule.pattern, path);
    if (params) return { route: rule, params };
  }
  return undefined;
}

/** Methods the route table answers for a path (for a 405 with `Allow`); empty when the path is unknown. */
export function allowedMethods(path: string): HttpMethod[] {
  if (path.length > MAX_PATH_LENGTH) return [];
  return ROUTES.filter((rule) => matchPattern(rule.pattern, path) !== undefined).map((rule) => rule.method);
}
