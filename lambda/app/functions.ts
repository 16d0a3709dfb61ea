/**
 * The functions of the service as factories over their ports (DESIGN.md section 2): the AWS
 * entries in lambda/functions/ call them with AWS adapters, the local server with local
 * ones, so the same handler code serves both. Each factory takes only the ports its routes
 * need, which is also what its IAM role is granted (lib/stacks/api-stack.ts).
 */
import type { ALBEvent, ALBResult } from 'aws-lambda';
import type { AuditEventType } from '../audit/event';
import { type AuditQueryRequest, type AuditQueryStore, queryAuditEvents } from '../audit/query';
import type { DynamoDbApiKeyStore } from '../auth/api-key-store-dynamodb';
import { createApiKey, listApiKeys, revokeApiKey } from '../auth/api-keys';
import type { ClaimCheckOptions } from '../auth/claim-check';
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
import type { ErrorLog } from '../runtime/unexpected-error';
import type { SettingsStore, SettingsVersion } from '../settings/settings-store';
import { OmniChatError, ValidationError } from '../shared/errors';
import { jsonResponse } from '../shared/http';

/** A Lambda handler for ALB events. */
export type AlbHandler = (event: ALBEvent, context: import('aws-lambda').Context) => Promise<ALBResult>;

/** What every API function shares: authentication, the audit trail and the error log. */
export interface BaseDeps {
  readonly claimCheck: ClaimCheckOptions;
  readonly audit: AuditSink;
  /** Where each unexpected error is logged once (lambda/runtime/unexpected-error.ts). */
  readonly log: ErrorLog;
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
    log: deps.log,
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
          items: settings.modelAllowList.map((id) => ({ id, name: deps.chat.modelNames?.[id] ?? id })),
        });
      },
    },
  });
}

/** Conversation history and the caller's privacy rights; no model access. */
export function historyFunction(deps: BaseDeps & { readonly history: HistoryDeps }) {
  return createApiHandler({
    claimCheck: deps.claimCheck,
    log: deps.log,
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
        const { summary, newlyRevoked } = await revokeApiKey(call.params.id ?? '', principal, keyDeps);
        // Idempotent: a repeat answers the same summary and records nothing new.
        if (newlyRevoked) {
          await deps.audit({
            type: 'API_KEY_REVOKED',
            actor: actorOf(call, principal),
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

/** Body of the admin PUT routes: the version edited, and the changes. */
function parseAdminChange(body: unknown): { expectedVersion: number; changes: unknown } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('The body must be a JSON object.');
  }
  const { expectedVersion, changes, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new ValidationError(`Unknown field "${unknown[0]}".`);
  if (typeof expectedVersion !== 'number' || !Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw new ValidationError('"expectedVersion" must be the version you edited (an integer >= 0).');
  }
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) {
    throw new ValidationError('"changes" must be an object.');
  }
  return { expectedVersion, changes };
}

const AUDIT_QUERY_FIELDS = new Set(['user', 'from', 'to', 'type', 'limit', 'cursor']);

/** `GET /api/v1/admin/audit` query parameters. */
function parseAuditQuery(query: Readonly<Record<string, string>>): AuditQueryRequest {
  for (const key of Object.keys(query)) {
    if (!AUDIT_QUERY_FIELDS.has(key)) throw new ValidationError(`Unknown query parameter "${key}".`);
  }
  const limit = query.limit === undefined ? 50 : Number(query.limit);
  return {
    limit,
    ...(query.user === undefined ? {} : { user: query.user }),
    ...(query.from === undefined ? {} : { from: query.from }),
    ...(query.to === undefined ? {} : { to: query.to }),
    ...(query.type === undefined ? {} : { type: query.type as AuditEventType }),
    ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
  };
}

/** What the admin function needs. */
export interface AdminDeps extends BaseDeps {
  readonly settings: SettingsStore;
  readonly auditQuery: AuditQueryStore;
  /** The shared cursor secret (loaded once per container). */
  readonly cursorKey: () => Promise<Uint8Array>;
  readonly now?: () => Date;
}

const versionView = (v: SettingsVersion) => ({
  version: v.version,
  settings: v.settings,
  updatedAt: v.updatedAt === null ? null : new Date(v.updatedAt).toISOString(),
  updatedBy: v.actor,
});

/** Runtime settings, the model allow-list and the audit query: the admin routes. */
export function adminFunction(deps: AdminDeps) {
  const now = deps.now ?? (() => new Date());
  const change = (scope: 'settings' | 'models') => async (call: RouteCall) => {
    const principal = callerOf(call);
    const { expectedVersion, changes } = parseAdminChange(call.request.body);
    const type = scope === 'settings' ? 'SETTINGS_CHANGED' : 'MODEL_ALLOWLIST_CHANGED';
    const action = scope === 'settings' ? 'settings.update' : 'models.update';
    // Recorded before it happens: a change the trail cannot record is not made (503), so no
    // version is ever in force without an audit record. The result follows below: success,
    // or the refusal with its reason; never a success that did not happen.
    await deps.audit({
      type,
      actor: actorOf(call, principal),
      resource: 'settings',
      action: `${action}.request`,
      outcome: 'attempted',
      requestId: call.request.requestId,
      durationMs: 0,
      fields: { expectedVersion },
    });
    let updated: SettingsVersion;
    try {
      updated = await deps.settings.update(changes, { expectedVersion, actor: principal.sub, scope });
    } catch (error) {
      // Refused (invalid value, stale version): record the failure, then answer the 4xx. An
      // unavailable store (5xx) leaves only the attempt: its result is not known.
      if (error instanceof OmniChatError && error.isClientError) {
        await deps.audit({
          type,
          actor: actorOf(call, principal),
          resource: 'settings',
          action,
          outcome: 'failure',
          reason: error.code,
          requestId: call.request.requestId,
          durationMs: 0,
          fields: { expectedVersion },
        });
      }
      throw error;
    }
    await deps.audit({
      type,
      actor: actorOf(call, principal),
      resource: `settings/v${updated.version}`,
      action,
      outcome: 'success',
      requestId: call.request.requestId,
      durationMs: 0,
      fields: { changed: updated.changedFields.join(' '), version: updated.version },
    });
    return jsonResponse(200, versionView(updated));
  };
  return createApiHandler({
    claimCheck: deps.claimCheck,
    log: deps.log,
    routes: {
      'GET /api/v1/admin/settings': async (call) => {
        callerOf(call);
        return jsonResponse(200, versionView(await deps.settings.current()));
      },
      'PUT /api/v1/admin/settings': change('settings'),
      'PUT /api/v1/admin/models': change('models'),
      'GET /api/v1/admin/audit': async (call) => {
        const principal = callerOf(call);
        const request = parseAuditQuery(call.request.query);
        const page = await queryAuditEvents(deps.auditQuery, request, {
          cursorKey: await deps.cursorKey(),
          now,
        });
        // Reading the trail is itself audited (who looked at whom, when).
        await deps.audit({
          type: 'AUDIT_QUERY',
          actor: actorOf(call, principal),
          resource: request.user === undefined ? 'audit/all' : `audit/user/${request.user}`,
          action: 'audit.query',
          outcome: 'success',
          requestId: call.request.requestId,
          durationMs: 0,
          fields: { returned: page.events.length, withheld: page.withheld },
        });
        return jsonResponse(200, page);
      },
    },
  });
}
