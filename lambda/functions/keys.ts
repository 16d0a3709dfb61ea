/**
 * Personal API keys: `GET/POST /api/v1/keys`, `DELETE /api/v1/keys/{id}`. Only this
 * function may write the keys table; a key is shown once and only its hash is stored.
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { createApiKey, listApiKeys, revokeApiKey } from '../auth/api-keys';
import type { Principal } from '../auth/principal';
import { callerOf, createApiHandler, type RouteCall } from '../runtime/api-handler';
import { createAwsCommon } from '../runtime/aws-common';
import { jsonResponse } from '../shared/http';

const common = createAwsCommon('keys');
const deps = { store: common.apiKeyStore };

/** Records the caller's current groups so their keys never outgrow them (see owner-directory-dynamodb). */
async function refreshOwner(principal: Principal): Promise<void> {
  if (principal.kind === 'user')
    await common.owners.record(principal.sub, principal.groups, true, new Date());
}

function actor(call: RouteCall, principal: Principal) {
  return {
    sub: principal.sub,
    groups: principal.groups,
    ...(principal.clientId ? { clientId: principal.clientId } : {}),
    ...(call.sourceIp ? { sourceIp: call.sourceIp } : {}),
    ...(call.userAgent ? { userAgent: call.userAgent } : {}),
  };
}

export const handler = createApiHandler({
  claimCheck: common.claimCheck,
  routes: {
    'GET /api/v1/keys': async (call) => {
      const principal = callerOf(call);
      return jsonResponse(200, { items: await listApiKeys(principal, deps) });
    },
    'POST /api/v1/keys': async (call) => {
      const principal = callerOf(call);
      await refreshOwner(principal);
      const created = await createApiKey(call.request.body, principal, deps);
      await common.audit({
        type: 'API_KEY_CREATED',
        actor: actor(call, principal),
        resource: `apikey/${created.summary.keyId}`,
        action: 'keys.create',
        outcome: 'success',
        requestId: call.request.requestId,
        durationMs: 0,
        fields: { permissions: created.summary.permissions.join(' ') },
      });
      return jsonResponse(201, created);
    },
    'DELETE /api/v1/keys/{id}': async (call) => {
      const principal = callerOf(call);
      const revoked = await revokeApiKey(call.params.id ?? '', principal, deps);
      await common.audit({
        type: 'API_KEY_REVOKED',
        actor: actor(call, principal),
        resource: `apikey/${revoked.keyId}`,
        action: 'keys.revoke',
        outcome: 'success',
        requestId: call.request.requestId,
        durationMs: 0,
      });
      return jsonResponse(200, revoked);
    },
  },
}).use(logMetrics(common.observability.metrics));
