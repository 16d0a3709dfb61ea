/**
 * Conversation history and the caller's privacy rights (GDPR export and erasure), as
 * pure cores. Every read is keyed by the caller's own sub, so another user's id answers
 * exactly like a missing one (404), and a cursor is sealed to its owner.
 */
import { actorOf } from '../audit/actor';
import type { AuditEventInput } from '../audit/event';
import type { Principal } from '../auth/principal';
import type { CountMetric } from '../runtime/audit-sink';
import { NotFoundError, ServiceUnavailableError, ValidationError } from '../shared/errors';
import { METRICS } from '../shared/metric-names';
import type { ConversationStore, PageKey } from './conversation-store';
import { isConversationId } from './ids';
import type { Clock, LimitStore, SealedText, TextCipher } from './ports';

/** Erasure of the caller's personal API keys (the key store's port). */
export interface OwnedKeyEraser {
  eraseOwner(sub: string): Promise<number>;
  /**
   * The last step of an erasure: the owner-directory tombstone that refuses every token and
   * session issued before it (issue 17). Last, so a failed erasure can be retried with the
   * same session.
   */
  revokeOwner(sub: string): Promise<void>;
}

/** Dependencies of the history and privacy routes. */
export interface HistoryDeps {
  readonly conversations: ConversationStore;
  readonly cipher: TextCipher;
  readonly limits: Pick<LimitStore, 'eraseUser'>;
  readonly apiKeys: OwnedKeyEraser;
  readonly audit: (event: AuditEventInput) => Promise<void>;
  readonly clock: Clock;
  /** Counts `DataExport` / `DataErasure` (the exfiltration alarm watches export volume). */
  readonly count: CountMetric;
}

/** Request facts the audit trail records. */
export interface HistoryMeta {
  readonly requestId: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
}

const CURSOR_CONTEXT = 'cursor';
const MAX_PAGE = 50;

/** Seals a page key into an opaque cursor bound to its owner (AES-GCM: tamper-proof). */
async function sealCursor(cipher: TextCipher, user: string, key: PageKey): Promise<string> {
  const sealed = await cipher.seal(JSON.stringify(key), { user, conversation: CURSOR_CONTEXT });
  return Buffer.from(JSON.stringify(sealed), 'utf8').toString('base64url');
}

async function openCursor(cipher: TextCipher, user: string, cursor: string): Promise<PageKey> {
  try {
    if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('malformed');
    const sealed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as SealedText;
    const key = JSON.parse(await cipher.open(sealed, { user, conversation: CURSOR_CONTEXT })) as PageKey;
    if (typeof key.pk !== 'string' || typeof key.sk !== 'string') throw new Error('malformed');
    return key;
  } catch (cause) {
    // KMS unavailable is not the cursor's fault: 503, so the client retries the same page.
    if (cause instanceof ServiceUnavailableError) throw cause;
    // A forged, altered or foreign cursor: never reveal which.
    throw new ValidationError('"cursor" is not valid.', cause);
  }
}

/** Parses `limit` and `cursor` query parameters; unknown parameters are refused. */
export function parsePageQuery(query: Readonly<Record<string, string>>): { limit: number; cursor?: string } {
  for (const key of Object.keys(query)) {
    if (key !== 'limit' && key !== 'cursor') throw new ValidationError(`Unknown query parameter "${key}".`);
  }
  const limit = query.limit === undefined ? 20 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new ValidationError(`"limit" must be an integer from 1 to ${MAX_PAGE}.`);
  }
  return query.cursor === undefined ? { limit } : { limit, cursor: query.cursor };
}

/** `GET /api/v1/conversations`. */
export async function listConversations(
  principal: Principal,
  page: { limit: number; cursor?: string },
  deps: HistoryDeps,
) {
  const after =
    page.cursor === undefined ? undefined : await openCursor(deps.cipher, principal.sub, page.cursor);
  let result: Awaited<ReturnType<ConversationStore['listHeaders']>>;
  try {
    result = await deps.conversations.listHeaders(principal.sub, page.limit, after);
  } catch (error) {
    if (error instanceof Error && error.message.includes('page key'))
      throw new ValidationError('"cursor" is not valid.');
    throw error;
  }
  const items = await Promise.all(
    result.items.map(async (h) => ({
      id: h.id,
      title: await deps.cipher.open(h.title, { user: principal.sub, conversation: h.id }),
      modelId: h.modelId,
      createdAt: new Date(h.createdAt).toISOString(),
      updatedAt: new Date(h.updatedAt).toISOString(),
      turns: h.turns,
    })),
  );
  const nextCursor = result.next ? await sealCursor(deps.cipher, principal.sub, result.next) : undefined;
  return nextCursor ? { items, nextCursor } : { items };
}

function requireConversationId(id: string | undefined): string {
  if (!isConversationId(id)) throw new NotFoundError('Conversation not found.');
  return id;
}

/** `GET /api/v1/conversations/{id}`: the conversation with its messages, decrypted. */
export async function getConversation(
  principal: Principal,
  rawId: string | undefined,
  meta: HistoryMeta,
  deps: HistoryDeps,
) {
  const id = requireConversationId(rawId);
  const header = await deps.conversations.getHeader(principal.sub, id);
  if (!header) throw new NotFoundError('Conversation not found.');
  const context = { user: principal.sub, conversation: id };
  const turns = await deps.conversations.allTurns(principal.sub, id);
  const messages = (
    await Promise.all(
      turns.map(async (t) => [
        {
          role: 'user' as const,
          text: await deps.cipher.open(t.user, context),
          at: new Date(t.at).toISOString(),
        },
        {
          role: 'assistant' as const,
          text: await deps.cipher.open(t.assistant, context),
          at: new Date(t.at).toISOString(),
          modelId: t.modelId,
          usage: { inputTokens: t.inputTokens, outputTokens: t.outputTokens },
        },
      ]),
    )
  ).flat();
  await deps.audit({
    type: 'DATA_ACCESS',
    actor: actorOf(principal, meta),
    resource: `conversation/${id}`,
    action: 'conversation.read',
    outcome: 'success',
    requestId: meta.requestId,
    durationMs: 0,
    fields: { messages: messages.length },
  });
  return {
    id,
    title: await deps.cipher.open(header.title, context),
    modelId: header.modelId,
    createdAt: new Date(header.createdAt).toISOString(),
    updatedAt: new Date(header.updatedAt).toISOString(),
    messages,
  };
}

/** `DELETE /api/v1/conversations/{id}`. */
export async function deleteConversation(
  principal: Principal,
  rawId: string | undefined,
  meta: HistoryMeta,
  deps: HistoryDeps,
) {
  const id = requireConversationId(rawId);
  // Recorded before it happens: a deletion the trail cannot take does not happen (503).
  if (await deps.conversations.getHeader(principal.sub, id)) {
    await deps.audit({
      type: 'DATA_ACCESS',
      actor: actorOf(principal, meta),
      resource: `conversation/${id}`,
      action: 'conversation.delete',
      outcome: 'success',
      requestId: meta.requestId,
      durationMs: 0,
    });
  }
  // Without a header this only finishes an earlier delete that failed half-way.
  const deleted = await deps.conversations.deleteConversation(principal.sub, id);
  if (!deleted) throw new NotFoundError('Conversation not found.');
}

/** `GET /api/v1/me/export`: everything stored about the caller, decrypted. */
export async function exportMyData(principal: Principal, meta: HistoryMeta, deps: HistoryDeps) {
  const ids = await deps.conversations.allConversationIds(principal.sub);
  const conversations = [];
  for (const id of ids) {
    const header = await deps.conversations.getHeader(principal.sub, id);
    if (!header) continue;
    const context = { user: principal.sub, conversation: id };
    const turns = await deps.conversations.allTurns(principal.sub, id);
    conversations.push({
      id,
      title: await deps.cipher.open(header.title, context),
      createdAt: new Date(header.createdAt).toISOString(),
      turns: await Promise.all(
        turns.map(async (t) => ({
          at: new Date(t.at).toISOString(),
          modelId: t.modelId,
          user: await deps.cipher.open(t.user, context),
          assistant: await deps.cipher.open(t.assistant, context),
          usage: { inputTokens: t.inputTokens, outputTokens: t.outputTokens },
        })),
      ),
    });
  }
  await deps.audit({
    type: 'DATA_EXPORT',
    actor: actorOf(principal, meta),
    resource: `user/${principal.sub}`,
    action: 'me.export',
    outcome: 'success',
    requestId: meta.requestId,
    durationMs: 0,
    fields: { conversations: conversations.length },
  });
  deps.count(METRICS.DataExport);
  return { exportedAt: new Date(deps.clock.now()).toISOString(), subject: principal.sub, conversations };
}

/**
 * `GET /api/v1/me`: who the page is signed in as. The e-mail address comes from the verified
 * access token (the pre-token-generation trigger's claim); it is `null` when the token has
 * none. Reads nothing stored, so nothing is audited beyond the edge's decision log.
 */
export function describeCaller(principal: Principal) {
  return {
    email: principal.email ?? null,
    groups: [...principal.groups],
    permissions: [...principal.permissions].sort(),
  };
}

/** `DELETE /api/v1/me`: erases conversations, messages, API keys and limits; the audit record remains. */
export async function eraseMyData(principal: Principal, meta: HistoryMeta, deps: HistoryDeps) {
  // Recorded before anything is erased: an erasure the trail cannot take does not happen
  // (503); the record with the counts follows once it is done.
  await deps.audit({
    type: 'DATA_ERASURE',
    actor: actorOf(principal, meta),
    resource: `user/${principal.sub}`,
    action: 'me.erase.request',
    outcome: 'attempted',
    requestId: meta.requestId,
    durationMs: 0,
  });
  const items = await deps.conversations.eraseUser(principal.sub);
  const keys = await deps.apiKeys.eraseOwner(principal.sub);
  await deps.limits.eraseUser(principal.sub);
  await deps.audit({
    type: 'DATA_ERASURE',
    actor: actorOf(principal, meta),
    resource: `user/${principal.sub}`,
    action: 'me.erase',
    outcome: 'success',
    requestId: meta.requestId,
    durationMs: 0,
    fields: { items, apiKeys: keys },
  });
  await deps.apiKeys.revokeOwner(principal.sub);
  deps.count(METRICS.DataErasure);
  return { erased: true, items, apiKeys: keys };
}
