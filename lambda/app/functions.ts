/**
 * The functions of the service as factories over their ports (DESIGN.md section 2): the AWS
 * entries in lambda/functions/ call them with AWS adapters, the local server with local
 * ones, so the same handler code serves both. Each factory takes only the ports its routes
 * need, which is also what its IAM role is granted (lib/stacks/api-stack.ts).
 */
import type { ALBEvent, ALBResult } from 'aws-lambda';
import type { DynamoDbApiKeyStore } from '../auth/api-key-store-dynamodb';
import { createApiKey, listApiKeys, revokeApiKey } from '../auth/api-keys';
import type { ClaimCheckOptions } from '../auth/claim-check';
import type { DynamoDbOwnerDirectory } from '../auth/owner-directory-dynamodb';
import type { Principal } from '../auth/principal';
import { type ChatDeps, chat, parseChatBody } from '../chat/chat-service';
import {
  deleteConversation,
  eraseMyData,
  exportMyData,
  getConversation,
  type HistoryDeps,
  listConversations,
  parsePageQuery,
} from '../chat/history-service';
import { callerOf, createApiHandler, type RouteCall } from '../runtime/api-handler';
import type { AuditSink } from '../runtime/audit-sink';
import { jsonResponse } from '../shared/http';

/** A Lambda handler for ALB events. */
export type AlbHandler = (event: ALBEvent, context: import('aws-lambda').Context) => Promise<ALBResult>;

/** What every API function shares: authentication and the audit trail. */
export interface BaseDeps {
  readonly claimCheck: ClaimCheckOptions;
  readonly audit: AuditSink;
}

/** The audit actor of a call. */
export function actorOf(call: RouteCall, principal: Principal) {
  return {
    sub: principal.sub,
    groups: principal.groups,
    ...(principal.clientId ? { clientId: principal.clientId } : {}),
    ...(principal.keyId ? { keyId: principal.keyId } : {}),
    ...(call.sourceIp ? { sourceIp: call.sourceIp } : {}),
    ...(call.userAgent ? { userAgent: call.userAgent } : {}),
  };
}

const metaOf = (call: RouteCall) => ({
  requestId: call.request.requestId,
  ...(call.sourceIp ? { sourceIp: call.sourceIp } : {}),
  ...(call.userAgent ? { userAgent: call.userAgent } : {}),
});

/** `POST /api/v1/chat` and `GET /api/v1/models`: the only function that may call Bedrock. */
export function chatFunction(deps: BaseDeps & { readonly chat: ChatDeps }) {
  return createApiHandler({
    claimCheck: deps.claimCheck,
    routes: {
      'POST /api/v1/chat': async (call) => {
        const principal = callerOf(call);
        const result = await chat(principal, parseChatBody(call.request.body), metaOf(call), deps.chat);
        return jsonResponse(200, result.body, result.headers);
      },
      'GET /api/v1/models': async (call) => {
        callerOf(call);
        const settings = await deps.chat.settings();
        return jsonResponse(200, {
          defaultModelId: settings.defaultModelId,
          items: settings.modelAllowList.map((id) => ({ id })),
        });
      },
    },
  });
}

/** Conversation history and the caller's privacy rights; no model access. */
export function historyFunction(deps: BaseDeps & { readonly history: HistoryDeps }) {
  return createApiHandler({
    claimCheck: deps.claimCheck,
    routes: {
      'GET /api/v1/conversations': async (call) => {
        const page = parsePageQuery(call.request.query);
        return jsonResponse(200, await listConversations(callerOf(call), page, deps.history));
      },
      'GET /api/v1/conversations/{id}': async (call) =>
        jsonResponse(200, await getConversation(callerOf(call), call.params.id, metaOf(call), deps.history)),
      'DELETE /api/v1/conversations/{id}': async (call) => {
        await deleteConversation(callerOf(call), call.params.id, metaOf(call), deps.history);
        return jsonResponse(204, undefined);
      },
      'GET /api/v1/me/export': async (call) =>
        jsonResponse(200, await exportMyData(callerOf(call), metaOf(call), deps.history), {
          'Content-Disposition': 'attachment; filename="omnichat-export.json"',
        }),
      'DELETE /api/v1/me': async (call) =>
        jsonResponse(200, await eraseMyData(callerOf(call), metaOf(call), deps.history)),
    },
  });
}

/** Personal API keys; the only function that writes the keys table. */
export function keysFunction(
  deps: BaseDeps & {
    readonly store: DynamoDbApiKeyStore;
    readonly owners: Pick<DynamoDbOwnerDirectory, 'record'>;
    readonly now?: () => number;
  },
) {
  const keyDeps = { store: deps.store, ...(deps.now ? { now: deps.now } : {}) };
  /** Records the caller's current groups so their keys never outgrow them (see owner-directory-dynamodb). */
  const refreshOwner = async (principal: Principal): Promise<void> => {
    if (principal.kind === 'user')
      await deps.owners.record(principal.sub, principal.groups, true, new Date());
  };
  return createApiHandler({
    claimCheck: deps.claimCheck,
    routes: {
      'GET /api/v1/keys': async (call) =>
        jsonResponse(200, { items: await listApiKeys(callerOf(call), keyDeps) }),
      'POST /api/v1/keys': async (call) => {
        const principal = callerOf(call);
        await refreshOwner(principal);
        const created = await createApiKey(call.request.body, principal, keyDeps);
        await deps.audit({
          type: 'API_KEY_CREATED',
          actor: actorOf(call, principal),
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
        const revoked = await revokeApiKey(call.params.id ?? '', principal, keyDeps);
        await deps.audit({
          type: 'API_KEY_REVOKED',
          actor: actorOf(call, principal),
          resource: `apikey/${revoked.keyId}`,
          action: 'keys.revoke',
          outcome: 'success',
          requestId: call.request.requestId,
          durationMs: 0,
        });
        return jsonResponse(200, revoked);
      },
    },
  });
}
