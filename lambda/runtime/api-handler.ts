/**
 * Builds a function's handler from the routes it serves: the HTTP edge (parse, bound,
 * secure, shape errors), then the claim check (authenticate, authorize, audit the
 * decision), then the route's core. A route this function does not serve answers 404:
 * the load balancer should never send one, and guessing would be worse.
 */
import middy from '@middy/core';
import type { ALBEvent, ALBResult } from 'aws-lambda';
import { type AuthContext, type ClaimCheckOptions, claimCheck } from '../auth/claim-check';
import type { RouteRule } from '../auth/permissions';
import type { Principal } from '../auth/principal';
import { NotFoundError, UnauthenticatedError } from '../shared/errors';
import {
  clientAddressOf,
  type EdgeContext,
  type HttpEdgeOptions,
  httpEdge,
  type ParsedRequest,
  parsedRequest,
} from '../shared/http';
import { type ErrorLog, logUnexpectedError } from './unexpected-error';

/** What a route's core receives. */
export interface RouteCall {
  readonly request: ParsedRequest;
  /** Set on every route that requires authentication. */
  readonly principal?: Principal;
  readonly params: Readonly<Record<string, string>>;
  /** Caller address as the load balancer saw it. */
  readonly sourceIp?: string;
  readonly userAgent?: string;
}

/**
 * A route's core. `context` is the invocation's (the streaming chat route finds its response
 * stream there: lambda/compose/handlers/chat-stream.ts).
 */
export type RouteImpl = (call: RouteCall, context: EdgeContext & AuthContext) => Promise<ALBResult>;

/** Key of a route in the table: `METHOD pattern`, e.g. `GET /api/v1/conversations/{id}`. */
export type RouteKey = `${RouteRule['method']} ${string}`;

/** Options of {@link createApiHandler}. */
export interface ApiHandlerOptions {
  readonly routes: Readonly<Partial<Record<RouteKey, RouteImpl>>>;
  readonly claimCheck: ClaimCheckOptions;
  /** Receives the one structured record of each unexpected error (required: none goes unlogged). */
  readonly log: ErrorLog;
  readonly edge?: Omit<HttpEdgeOptions, 'onUnexpectedError'>;
}

type Context = EdgeContext & AuthContext;

/** The middy handler of one function. */
export function createApiHandler(options: ApiHandlerOptions) {
  const dispatch = async (_event: ALBEvent, context: Context): Promise<ALBResult> => {
    const request = parsedRequest(context);
    const match = context.route;
    const impl = match
      ? options.routes[`${match.route.method} ${match.route.pattern}` as RouteKey]
      : undefined;
    if (!match || !impl) throw new NotFoundError();
    const forwarded = clientAddressOf(request.headers['x-forwarded-for']);
    const userAgent = request.headers['user-agent'];
    return impl(
      {
        request,
        params: match.params,
        ...(context.principal ? { principal: context.principal } : {}),
        ...(forwarded ? { sourceIp: forwarded } : {}),
        ...(userAgent ? { userAgent } : {}),
      },
      context,
    );
  };
  const onUnexpectedError = (error: unknown, context: Context): void =>
    logRouteError(options.log, error, context);
  return middy<ALBEvent, ALBResult, Error, Context>()
    .use(httpEdge({ ...options.edge, onUnexpectedError }))
    .use(claimCheck(options.claimCheck))
    .handler(dispatch);
}

/** Logs an unexpected error once, with the invocation's request id, function and route. */
export function logRouteError(log: ErrorLog, error: unknown, context: Context): void {
  const match = context.route;
  logUnexpectedError(log, error, {
    requestId: context.awsRequestId,
    ...(context.functionName ? { functionName: context.functionName } : {}),
    ...(context.request ? { method: context.request.method } : {}),
    ...(match
      ? { route: `${match.route.method} ${match.route.pattern}` }
      : context.request
        ? { route: context.request.path }
        : {}),
  });
}

/** The caller of a route that requires authentication (the claim check guarantees it). */
export function callerOf(call: RouteCall): Principal {
  if (!call.principal) throw new UnauthenticatedError();
  return call.principal;
}
