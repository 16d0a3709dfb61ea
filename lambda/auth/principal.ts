/**
 * Who is calling, and the decisions taken about them. The claim-check middleware builds a
 * `Principal` per request; every authentication and authorization decision is handed to an
 * `AuthDecisionSink` (the audit writer plugs in there) before the request is answered.
 */

import type { AuthnFailureReason } from './authn-failure';
import {
  type Permission,
  permissionsForGroups,
  permissionsForScopes,
  type RouteRequirement,
  SIGNED_IN_USER,
} from './permissions';
import type { VerifiedAccessToken } from './token-verifier';

/** An authenticated caller. */
export interface Principal {
  /** `user`: Cognito user token; `machine`: client-credentials token; `apiKey`: personal API key. */
  readonly kind: 'user' | 'machine' | 'apiKey';
  /** User sub, or the client id for machine clients. */
  readonly sub: string;
  /** Cognito username (for directory look-ups); absent for machine clients. */
  readonly username?: string;
  /** Cognito groups at the time of the decision (empty for machine clients). */
  readonly groups: readonly string[];
  /** App client that obtained the token; `null` for API keys. */
  readonly clientId: string | null;
  /** The API key id, for `apiKey` principals. */
  readonly keyId?: string;
  /** The user's e-mail address from a user token, for display only; never audited. */
  readonly email?: string;
  /** Effective permissions; the only thing authorization looks at. */
  readonly permissions: ReadonlySet<Permission>;
}

export type { AuthnFailureReason } from './authn-failure';

/** Why authorization denied a request. */
export type AuthzDenyReason = 'route_not_found' | 'missing_permission' | 'requires_user_session';

/** Where the credentials came from. */
export type CredentialSource = 'authorization' | 'alb' | 'api-key' | 'none';

interface DecisionBase {
  /** HTTP method and path of the request. */
  readonly method: string;
  readonly path: string;
  /** Epoch milliseconds of the decision. */
  readonly at: number;
  /** Lambda request id, to join the decision with the request's other audit events. */
  readonly requestId: string;
  /** Client address as the load balancer saw it (last `X-Forwarded-For` entry). */
  readonly sourceIp?: string;
  /** Raw `User-Agent`; the audit writer masks it. */
  readonly userAgent?: string;
}

/** One authentication or authorization decision, as handed to the audit writer. */
export type AuthDecision =
  | (DecisionBase & {
      readonly type: 'authn';
      readonly outcome: 'success';
      readonly principal: PrincipalSummary;
    })
  | (DecisionBase & {
      readonly type: 'authn';
      readonly outcome: 'failure';
      readonly reason: AuthnFailureReason;
      readonly source: CredentialSource;
    })
  | (DecisionBase & {
      readonly type: 'authz';
      readonly outcome: 'allow';
      readonly requirement: RouteRequirement;
      readonly principal?: PrincipalSummary;
    })
  | (DecisionBase & {
      readonly type: 'authz';
      readonly outcome: 'deny';
      readonly reason: AuthzDenyReason;
      readonly requirement?: RouteRequirement;
      readonly principal?: PrincipalSummary;
    });

/** The audit writer's port: must persist the decision or throw (the request then fails closed). */
export type AuthDecisionSink = (decision: AuthDecision) => Promise<void> | void;

/** The loggable part of a principal (no secrets, permissions as a sorted list). */
export interface PrincipalSummary {
  readonly kind: Principal['kind'];
  readonly sub: string;
  readonly clientId: string | null;
  readonly keyId?: string;
  readonly groups: readonly string[];
  readonly permissions: readonly Permission[];
}

/** Reduces a principal to what may be written to the audit trail. */
export function summarizePrincipal(principal: Principal): PrincipalSummary {
  return {
    kind: principal.kind,
    sub: principal.sub,
    clientId: principal.clientId,
    ...(principal.keyId === undefined ? {} : { keyId: principal.keyId }),
    groups: [...principal.groups],
    permissions: [...principal.permissions].sort(),
  };
}

/**
 * Builds the principal of a verified access token. User tokens carry `username` and get
 * permissions from `cognito:groups`; client-credentials tokens have neither (their `sub` is
 * the client id) and get permissions from their `omnichat/*` scopes only.
 */
export function principalFromToken(token: VerifiedAccessToken): Principal {
  if (token.username !== undefined) {
    return {
      kind: 'user',
      sub: token.sub,
      username: token.username,
      groups: token.groups,
      clientId: token.clientId,
      permissions: permissionsForGroups(token.groups),
      ...(token.email === undefined ? {} : { email: token.email }),
    };
  }
  return {
    kind: 'machine',
    sub: token.sub,
    groups: [],
    clientId: token.clientId,
    permissions: permissionsForScopes(token.scopes),
  };
}

/** Whether a principal satisfies a route requirement; `null` (public) is always satisfied. */
export function authorize(
  principal: Principal | undefined,
  requirement: RouteRequirement,
): { allowed: true } | { allowed: false; reason: AuthzDenyReason } {
  if (requirement === null) return { allowed: true };
  if (!principal) return { allowed: false, reason: 'missing_permission' };
  if (requirement === SIGNED_IN_USER) {
    return principal.kind === 'user'
      ? { allowed: true }
      : { allowed: false, reason: 'requires_user_session' };
  }
  return principal.permissions.has(requirement)
    ? { allowed: true }
    : { allowed: false, reason: 'missing_permission' };
}
