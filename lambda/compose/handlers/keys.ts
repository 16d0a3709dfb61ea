/**
 * The keys function's routes.
 * One module per function, so that a function's bundle carries only its own routes (its
 * entry calls only its own composer in lambda/compose/compose-function.ts).
 */
import { actorOf } from '../../audit/actor';
import type { DynamoDbApiKeyStore } from '../../auth/api-key-store-dynamodb';
import { createApiKey, listApiKeys, revokeApiKey } from '../../auth/api-keys';
import { callerOf, createApiHandler } from '../../runtime/api-handler';
import { jsonResponse } from '../../shared/http';
import type { BaseDeps } from './base';

/** Personal API keys; the only function that writes the keys table. */
export function keysFunction(
  deps: BaseDeps & {
    readonly store: DynamoDbApiKeyStore;
    readonly now?: () => number;
  },
) {
  // The caller's permissions come from the owner directory (claim check), never from the
  // token's own groups, so a session minted before a demotion cannot mint an admin key; this
  // function does not write the directory.
  const keyDeps = { store: deps.store, ...(deps.now ? { now: deps.now } : {}) };
  return createApiHandler({
    claimCheck: deps.claimCheck,
    log: deps.log,
    routes: {
      'GET /api/v1/keys': async (call) =>
        jsonResponse(200, { items: await listApiKeys(callerOf(call), keyDeps) }),
      'POST /api/v1/keys': async (call) => {
        const principal = callerOf(call);
        const created = await createApiKey(call.request.body, principal, keyDeps);
        await deps.audit({
          type: 'API_KEY_CREATED',
          actor: actorOf(principal, call),
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
        const { summary, newlyRevoked } = await revokeApiKey(call.params.id ?? '', principal, keyDeps);
        // Idempotent: a repeat answers the same summary and records nothing new.
        if (newlyRevoked) {
          await deps.audit({
            type: 'API_KEY_REVOKED',
            actor: actorOf(principal, call),
            resource: `apikey/${summary.keyId}`,
            action: 'keys.revoke',
            outcome: 'success',
            requestId: call.request.requestId,
            durationMs: 0,
          });
        }
        return jsonResponse(200, summary);
      },
    },
  });
}
