/**
 * The admin audit query: by user or by time, paged with an opaque cursor that is HMAC-signed
 * and bound to the query, so a client can neither forge a position nor reuse a cursor to widen
 * its query. Only validated (hence masked) events are returned.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type AttributeValue, type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { callStore } from '../shared/dynamodb-failures';
import { ValidationError } from '../shared/errors';
import { AUDIT_EVENT_TYPES, type AuditEvent, type AuditEventType, parseAuditEvent, sha256Hex } from './event';
import { DEFAULT_AUDIT_SHARDS } from './writer';

/** One Query on one partition of the table or of the `byTime` index. */
export interface AuditPartitionQuery {
  readonly index: 'table' | 'byTime';
  readonly partitionKey: string;
  /** Inclusive sort-key bounds. */
  readonly skFrom: string;
  readonly skTo: string;
  readonly type?: AuditEventType;
  /** Stop once this many matching items are found. */
  readonly limit: number;
}

/** A stored item as the query core sees it. */
export interface StoredAuditItem {
  readonly sk: string;
  readonly event: unknown;
}

/** Read port of the admin audit query (only the admin query function may read the table). */
export interface AuditQueryStore {
  queryPartition(query: AuditPartitionQuery): Promise<readonly StoredAuditItem[]>;
}

/** DynamoDB adapter of {@link AuditQueryStore}. */
export function createDynamoAuditQueryStore(options: {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** @default 'byTime' */
  readonly indexName?: string;
}): AuditQueryStore {
  return {
    async queryPartition(query) {
      const onIndex = query.index === 'byTime';
      const items: StoredAuditItem[] = [];
      let startKey: Record<string, AttributeValue> | undefined;
      // A filter on `type` applies after Limit, so keep paging until enough items match.
      do {
        // Throttling and outages answer 503 with Retry-After, client faults stay 500s.
        const page = await callStore(() =>
          options.client.send(
            new QueryCommand({
              TableName: options.tableName,
              IndexName: onIndex ? (options.indexName ?? 'byTime') : undefined,
              KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
              FilterExpression: query.type === undefined ? undefined : '#type = :type',
              ExpressionAttributeNames: {
                '#pk': onIndex ? 'gsi1pk' : 'pk',
                '#sk': onIndex ? 'gsi1sk' : 'sk',
                ...(query.type !== undefined && { '#type': 'type' }),
              },
              ExpressionAttributeValues: {
                ':pk': { S: query.partitionKey },
                ':from': { S: query.skFrom },
                ':to': { S: query.skTo },
                ...(query.type !== undefined && { ':type': { S: query.type } }),
              },
              Limit: query.limit,
              ExclusiveStartKey: startKey,
            }),
          ),
        );
        for (const item of page.Items ?? []) {
          const sk = item.sk?.S;
          const body = item.event?.S;
          if (sk === undefined || body === undefined) continue;
          let event: unknown;
          try {
            event = JSON.parse(body);
          } catch {
            event = undefined;
          }
          items.push({ sk, event });
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined && items.length < query.limit);
      return items.slice(0, query.limit);
    },
  };
}

/** Parameters of an admin audit query. */
export interface AuditQueryRequest {
  /** Cognito sub of the user whose events are wanted. */
  readonly user?: string;
  /** ISO-8601 bounds, inclusive. */
  readonly from?: string;
  readonly to?: string;
  readonly type?: AuditEventType;
  readonly limit: number;
  readonly cursor?: string;
}

/** Configuration of {@link queryAuditEvents}. */
export interface AuditQueryOptions {
  /** Secret that signs cursors (at least 32 bytes). */
  readonly cursorKey: Uint8Array;
  readonly now: () => Date;
  /** Must match the writer's shard count. @default DEFAULT_AUDIT_SHARDS */
  readonly shards?: number;
  /** Widest range of a query by time alone. @default 31 */
  readonly maxRangeDays?: number;
}

/** A page of masked events, oldest first. */
export interface AuditQueryPage {
  readonly events: readonly AuditEvent[];
  /** Present when more events may follow. */
  readonly nextCursor?: string;
  /** Stored items that failed validation (unmasked or malformed) and were withheld. */
  readonly withheld: number;
}

/** Largest page size. */
export const MAX_AUDIT_PAGE = 200;
const DAY_MS = 86_400_000;
const SUB = /^[\w.:@+=-]{1,128}$/;

function isoBound(value: string | undefined, name: string, fallback: Date): Date {
  if (value === undefined) return fallback;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) {
    throw new ValidationError(`${name} must be an ISO-8601 timestamp.`);
  }
  return new Date(ms);
}

function base64url(data: Uint8Array | string): string {
  return Buffer.from(data).toString('base64url');
}

function sign(key: Uint8Array, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

interface CursorPayload {
  readonly v: 2;
  /** Sort key of the last event returned. */
  readonly after: string;
  /** Fingerprint of the query the cursor belongs to. */
  readonly q: string;
  /**
   * The query's resolved bounds (ISO): a query that omitted `from`/`to` defaulted them from the
   * clock, which moves; the next page reads them from here instead.
   */
  readonly from: string;
  readonly to: string;
}

function encodeCursor(key: Uint8Array, payload: CursorPayload): string {
  const body = base64url(JSON.stringify(payload));
  return `${body}.${base64url(sign(key, body))}`;
}

const invalidCursor = () => new ValidationError('cursor is invalid or belongs to another query.');

/** The signed payload of a cursor; its fingerprint is checked by the caller. */
function decodeCursor(key: Uint8Array, cursor: string): CursorPayload {
  const invalid = invalidCursor();
  const [body, mac, extra] = cursor.split('.');
  if (body === undefined || mac === undefined || extra !== undefined || cursor.length > 1024) throw invalid;
  const expected = sign(key, body);
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  const candidate = payload as Partial<CursorPayload> | null;
  if (
    candidate?.v !== 2 ||
    typeof candidate.after !== 'string' ||
    typeof candidate.q !== 'string' ||
    typeof candidate.from !== 'string' ||
    typeof candidate.to !== 'string' ||
    Number.isNaN(Date.parse(candidate.from)) ||
    Number.isNaN(Date.parse(candidate.to))
  ) {
    throw invalid;
  }
  return candidate as CursorPayload;
}

/** Days (yyyy-mm-dd, UTC) touched by a range, in order. */
function daysBetween(from: Date, to: Date): string[] {
  const days: string[] = [];
  for (
    let t = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
    t <= to.getTime();
    t += DAY_MS
  ) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/** Runs the admin audit query by user and/or time; returns masked events oldest first and a signed cursor. */
export async function queryAuditEvents(
  store: AuditQueryStore,
  request: AuditQueryRequest,
  options: AuditQueryOptions,
): Promise<AuditQueryPage> {
  const shards = options.shards ?? DEFAULT_AUDIT_SHARDS;
  if (options.cursorKey.length < 32) throw new Error('cursorKey must be at least 32 bytes.');
  if (!Number.isInteger(request.limit) || request.limit < 1 || request.limit > MAX_AUDIT_PAGE) {
    throw new ValidationError(`limit must be an integer 1..${MAX_AUDIT_PAGE}.`);
  }
  if (request.user !== undefined && !SUB.test(request.user))
    throw new ValidationError('user is not a valid id.');
  if (request.type !== undefined && !AUDIT_EVENT_TYPES.includes(request.type)) {
    throw new ValidationError(`type must be one of ${AUDIT_EVENT_TYPES.join(', ')}.`);
  }
  // A cursor carries the bounds its first page resolved; omitted bounds come from it, not the clock.
  const pinned = request.cursor === undefined ? undefined : decodeCursor(options.cursorKey, request.cursor);
  const to = isoBound(request.to, 'to', pinned ? new Date(pinned.to) : options.now());
  // A user's whole history is a bounded set of Queries; a time-only query is bounded in days.
  const from = isoBound(
    request.from,
    'from',
    pinned
      ? new Date(pinned.from)
      : request.user === undefined
        ? new Date(to.getTime() - DAY_MS)
        : new Date(0),
  );
  if (from > to) throw new ValidationError('from must not be after to.');
  const maxRangeDays = options.maxRangeDays ?? 31;
  if (request.user === undefined && to.getTime() - from.getTime() > maxRangeDays * DAY_MS) {
    throw new ValidationError(
      `A query by time alone spans at most ${maxRangeDays} days; add a user or narrow it.`,
    );
  }
  const fingerprint = sha256Hex(
    JSON.stringify([request.user ?? null, from.toISOString(), to.toISOString(), request.type ?? null]),
  ).slice(0, 32);
  if (pinned !== undefined && pinned.q !== fingerprint) throw invalidCursor();
  const after = pinned?.after;
  // `~` sorts after every ULID character, so the upper bound includes events at exactly `to`.
  const skFrom = after ?? `${from.toISOString()}#`;
  const skTo = `${to.toISOString()}#~`;

  const groups: (readonly Omit<AuditPartitionQuery, 'skFrom' | 'skTo' | 'limit' | 'type'>[])[] =
    request.user !== undefined
      ? [
          Array.from({ length: shards }, (_, shard) => ({
            index: 'table',
            partitionKey: `USER#${request.user}#${shard}`,
          })),
        ]
      : daysBetween(after === undefined ? from : new Date(Date.parse(after.slice(0, 24))), to).map((day) =>
          Array.from({ length: shards }, (_, shard) => ({
            index: 'byTime',
            partitionKey: `DAY#${day}#${shard}`,
          })),
        );

  const collected: StoredAuditItem[] = [];
  // One more than the page so the boundary item (sk === after) can be dropped without a short page.
  const perPartition = request.limit + 1;
  for (const group of groups) {
    const results = await Promise.all(
      group.map((partition) =>
        store.queryPartition({ ...partition, skFrom, skTo, type: request.type, limit: perPartition }),
      ),
    );
    const merged = results
      .flat()
      .filter((item) => after === undefined || item.sk > after)
      .sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0));
    collected.push(...merged);
    // Days are disjoint and ordered, so a full page from earlier days is final.
    if (collected.length >= request.limit) break;
  }
  const page = collected.slice(0, request.limit);
  const events: AuditEvent[] = [];
  let withheld = 0;
  for (const item of page) {
    try {
      events.push(parseAuditEvent(item.event));
    } catch {
      withheld++;
    }
  }
  const last = page.at(-1);
  const hasMore = collected.length > request.limit || page.length === request.limit;
  return {
    events,
    withheld,
    ...(hasMore &&
      last !== undefined && {
        nextCursor: encodeCursor(options.cursorKey, {
          v: 2,
          after: last.sk,
          q: fingerprint,
          from: from.toISOString(),
          to: to.toISOString(),
        }),
      }),
  };
}
