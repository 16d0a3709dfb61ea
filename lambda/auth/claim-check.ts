/**
 * Claim-check middleware for ALB events: route -> authenticate -> authorize, deny by default.
 * Every decision is handed to `onDecision` (the audit writer) before the request goes on or is
 * answered; if that hand-over fails the request fails closed with 503.
 */
import type { MiddlewareObj } from '@middy/core';
import type { ALBEvent, ALBResult, Context } from 'aws-lambda';
import {
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
  UnauthenticatedError,
} from '../shared/errors';
import { clientAddressOf } from '../shared/http';
import type { ApiKeyAuthDeps } from './api-keys';
import { authenticate, flatHeaders } from './authenticate';
import type { CachedOwnerDirectory } from './owner-directory';
import { allowedMethods, matchRoute, type RouteMatch } from './permissions';
import {
  type AuthDecision,
  type AuthDecisionSink,
  authorize,
  type Principal,
  summarizePrincipal,
} from './principal';
import { type AccessTokenVerifier, headerValue } from './token-verifier';

/** Lambda context after the claim check: the matched route and, unless public, the principal. */
export type AuthContext = Context & { route?: RouteMatch; principal?: Principal };

/** Options of `claimCheck`. */
export interface ClaimCheckOptions {
  readonly verifier: AccessTokenVerifier;
  /** API key dependencies; without them `x-api-key` is refused. */
  readonly apiKeys?: ApiKeyAuthDeps;
  /**
   * The owner directory behind its cache: user tokens are judged on the user's current
   * groups, status and `validAfter` (issue 17). The AWS and local wiring always set it.
   */
  readonly owners?: CachedOwnerDirectory;
  /** The audit writer's port; must throw if the decision could not be recorded. */
  readonly onDecision: AuthDecisionSink;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** Middy middleware factory enforcing the route table on ALB requests. */
export function claimCheck(
  options: ClaimCheckOptions,
): MiddlewareObj<ALBEvent, ALBResult, Error, AuthContext> {
  const now = options.now ?? Date.now;
  const record = async (decision: AuthDecision): Promise<void> => {
    try {
      await options.onDecision(decision);
    } catch (error) {
      // No unaudited access: if the decision cannot be recorded, nothing proceeds.
      throw new ServiceUnavailableError(undefined, undefined, error);
    }
  };
  return {
    name: 'claimCheck',
    before: async (request) => {
      // Typed as strings, but an event is input: a missing one must be denied, not crash (500).
      const method = typeof request.event.httpMethod === 'string' ? request.event.httpMethod : '';
      const path = typeof request.event.path === 'string' ? request.event.path : '';
      const headers = flatHeaders(request.event);
      // ALB appends the address it saw to X-Forwarded-For; earlier entries are client-supplied.
      const sourceIp = clientAddressOf(headerValue(headers, 'x-forwarded-for'));
      const userAgent = headerValue(headers, 'user-agent');
      const base = {
        method,
        path,
        at: now(),
        requestId: request.context.awsRequestId,
        ...(sourceIp ? { sourceIp } : {}),
        ...(userAgent === undefined ? {} : { userAgent }),
      };
      const match = matchRoute(method, path);
      if (!match) {
        await record({ ...base, type: 'authz', outcome: 'deny', reason: 'route_not_found' });
        const allowed = allowedMethods(path);
        throw allowed.length > 0 ? new MethodNotAllowedError(allowed) : new NotFoundError();
      }
      request.context.route = match;
      const requirement = match.route.permission;
      // Public routes (health check) take no decision about anyone, so there is nothing to audit.
      if (requirement === null) return;

      const authentication = await authenticate(headers, options);
      if ('reason' in authentication) {
        await record({ ...base, type: 'authn', outcome: 'failure', ...authentication });
        throw new UnauthenticatedError(
          authentication.reason === 'missing_credentials'
            ? 'Authentication required.'
            : 'The credentials are invalid or expired.',
        );
      }
      const summary = summarizePrincipal(authentication.principal);
      await record({ ...base, type: 'authn', outcome: 'success', principal: summary });

      const verdict = authorize(authentication.principal, requirement);
      if (!verdict.allowed) {
        await record({
          ...base,
          type: 'authz',
          outcome: 'deny',
          reason: verdict.reason,
          requirement,
          principal: summary,
        });
        throw new ForbiddenError();
      }
      await record({ ...base, type: 'authz', outcome: 'allow', requirement, principal: summary });
      request.context.principal = authentication.principal;
    },
  };
}

/** The principal set by `claimCheck`; throws 401 if the route was public or the middleware is missing. */
export function requirePrincipal(context: AuthContext): Principal {
  if (!context.principal) throw new UnauthenticatedError();
  return context.principal;
}
