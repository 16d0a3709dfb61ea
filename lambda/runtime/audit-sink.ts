/**
 * Joins the pieces of the audit trail for a function: events are built (masked, hashed,
 * never raw text) and written fail-closed, and authorization decisions from the claim
 * check become audit events too. One event per request for the auth outcome: an allowed
 * request records who was authenticated and which permission admitted them.
 */
import { actorOf } from '../audit/actor';
import { type AuditEventDeps, type AuditEventInput, buildAuditEvent } from '../audit/event';
import type { AuditWriter } from '../audit/writer';
import type { AuthDecisionSink } from '../auth/principal';
import { METRICS, type MetricName } from '../shared/metric-names';

/** Counts a metric (EMF in AWS, a no-op or an array in tests). */
export type CountMetric = (name: MetricName, value?: number) => void;

/** The audit port handlers call with an event description. */
export type AuditSink = (input: AuditEventInput) => Promise<void>;

/** Builds events from inputs and writes them through `writer` (which must fail closed). */
export function createAuditSink(writer: AuditWriter, deps: AuditEventDeps): AuditSink {
  return async (input) => writer.write(buildAuditEvent(input, deps));
}

/**
 * The claim check's decision sink: authentication failures and denials are always
 * recorded (and counted for the alarms); a successful authentication is recorded once
 * it is also authorized, as a single event naming the permission that admitted it.
 */
export function auditDecisions(audit: AuditSink, count: CountMetric): AuthDecisionSink {
  return async (decision) => {
    const base = {
      actor: actorOf('principal' in decision ? decision.principal : undefined, decision),
      resource: `${decision.method} ${decision.path}`.slice(0, 256),
      requestId: decision.requestId,
      durationMs: 0,
    };
    if (decision.type === 'authn' && decision.outcome === 'failure') {
      count(METRICS.AuthFailure);
      await audit({
        ...base,
        type: 'AUTHN_FAILURE',
        action: 'authenticate',
        outcome: 'failure',
        reason: decision.reason,
        fields: { credential: decision.source },
      });
    } else if (decision.type === 'authz' && decision.outcome === 'deny') {
      count(METRICS.AuthzDenied);
      await audit({
        ...base,
        type: 'AUTHZ_DENIED',
        action: 'authorize',
        outcome: 'denied',
        reason: decision.reason,
        fields: { requirement: decision.requirement ?? null },
      });
    } else if (decision.type === 'authz' && decision.outcome === 'allow') {
      await audit({
        ...base,
        type: 'AUTHN_SUCCESS',
        action: 'authorize',
        outcome: 'success',
        fields: { requirement: decision.requirement ?? null, kind: decision.principal?.kind ?? null },
      });
    }
    // authn success alone is not written: the authz event that always follows carries it.
  };
}
