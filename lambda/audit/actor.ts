/**
 * The audit actor: who made a request and from where, as every audit event records it.
 * One builder for the chat pipeline, the history service, the route wiring, the claim
 * check's decision sink and local mode's edge, so the trail names callers the same way
 * everywhere.
 */
import type { AuditEventInput } from './event';

/** The caller as the audit trail sees it (structurally a `Principal`, without its permissions). */
export interface AuditedCaller {
  readonly sub: string;
  readonly groups: readonly string[];
  /** The app client; `null` (API keys) and absent are both left out of the record. */
  readonly clientId?: string | null;
  readonly keyId?: string;
}

/** Where a request came from. */
export interface RequestOrigin {
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
}

/** The audit actor of a request; `caller` is absent when authentication failed. */
export function actorOf(caller: AuditedCaller | undefined, origin: RequestOrigin): AuditEventInput['actor'] {
  return {
    ...(caller ? { sub: caller.sub, groups: caller.groups } : {}),
    ...(caller?.clientId ? { clientId: caller.clientId } : {}),
    ...(caller?.keyId ? { keyId: caller.keyId } : {}),
    ...(origin.sourceIp ? { sourceIp: origin.sourceIp } : {}),
    ...(origin.userAgent ? { userAgent: origin.userAgent } : {}),
  };
}
