/**
 * The admin function's routes.
 * One module per function, so that a function's bundle carries only its own routes (its
 * entry calls only its own composer in lambda/compose/compose-function.ts).
 */
import { actorOf } from '../../audit/actor';
import type { AuditEventType } from '../../audit/event';
import { type AuditQueryRequest, type AuditQueryStore, queryAuditEvents } from '../../audit/query';
import { callerOf, createApiHandler, type RouteCall } from '../../runtime/api-handler';
import type { SettingsStore, SettingsVersion } from '../../settings/settings-store';
import { OmniChatError, ValidationError } from '../../shared/errors';
import { jsonResponse } from '../../shared/http';
import type { BaseDeps } from './base';

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
      actor: actorOf(principal, call),
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
          actor: actorOf(principal, call),
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
      actor: actorOf(principal, call),
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
          actor: actorOf(principal, call),
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
