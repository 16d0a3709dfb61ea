/**
 * What every API function's handler shares: its dependencies (authentication, the audit
 * trail, the error log) and the request metadata of a call (the audit actor of a call is
 * lambda/audit/actor.ts `actorOf(principal, call)`).
 */
import type { ALBEvent, ALBResult, Context } from 'aws-lambda';
import type { ClaimCheckOptions } from '../../auth/claim-check';
import type { RouteCall } from '../../runtime/api-handler';
import type { AuditSink } from '../../runtime/audit-sink';
import type { ErrorLog } from '../../runtime/unexpected-error';

/** A Lambda handler for ALB events. */
export type AlbHandler = (event: ALBEvent, context: Context) => Promise<ALBResult>;

/** What every API function shares: authentication, the audit trail and the error log. */
export interface BaseDeps {
  readonly claimCheck: ClaimCheckOptions;
  readonly audit: AuditSink;
  /** Where each unexpected error is logged once (lambda/runtime/unexpected-error.ts). */
  readonly log: ErrorLog;
}

/** Request metadata of a call, for the audit trail. */
export const metaOf = (call: RouteCall) => ({
  requestId: call.request.requestId,
  ...(call.sourceIp ? { sourceIp: call.sourceIp } : {}),
  ...(call.userAgent ? { userAgent: call.userAgent } : {}),
});
