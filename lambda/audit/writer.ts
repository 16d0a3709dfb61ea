/**
 * Audit writer port and its adapters (DynamoDB for AWS, an fsync'd JSON Lines file for local
 * mode), and the fail-closed wrapper every handler writes through.
 *
 * Key layout of the audit table (schema `auditTable` in lib/data/table-schemas.ts):
 * - `pk = <actor>#<shard>` with `<actor>` = `USER#<sub>` | `CLIENT#<clientId>` | `KEY#<keyId>` | `ANON`
 *   and `<shard>` = SHA-256(eventId) mod `shards`. The actor prefix makes "events of a user" a
 *   handful of Queries; the shard spreads one busy actor (a brute-forced `ANON`, a chatty
 *   machine client) over `shards` partitions, so no actor can make a hot partition.
 * - `sk = <ISO timestamp>#<eventId>`: sorts by time, unique per event.
 * - `gsi1pk = DAY#<yyyy-mm-dd>#<shard>`, `gsi1sk = sk` (index `byTime`): a day's events are spread
 *   over `shards` index partitions instead of one hot partition per day.
 * - `expiresAt`: TTL in epoch seconds, `ttlDays` after the event.
 * The shard comes from the event id, so a retried write lands on the same key and is refused by
 * `attribute_not_exists(pk)` instead of creating a duplicate.
 */
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ConflictError, ServiceUnavailableError } from '../shared/errors';
import { type AuditActor, type AuditEvent, parseAuditEvent, sha256Hex } from './event';

/** Port every handler writes audit events through. */
export interface AuditWriter {
  /** Persists one event; resolves only once it is durable. */
  write(event: AuditEvent): Promise<void>;
}

/** Metric names emitted by the audit trail (alarmed on by the monitoring stack). */
export type AuditMetricName = 'AuditWriteFailed' | 'AuditTamperDetected' | 'AuditEventsArchived';

/** Metrics port; Powertools `Metrics` satisfies it. */
export interface AuditMetrics {
  addMetric(name: AuditMetricName, unit: 'Count', value: number): void;
}

/** Structured logger port; Powertools `Logger` satisfies it. */
export interface AuditLogger {
  error(message: string, attributes: Record<string, unknown>): void;
}

/** The store refused the write because the key already exists (append-only table). */
export class AuditWriteRefusedError extends ConflictError {
  constructor(eventId: string, cause?: unknown) {
    super(`Audit event ${eventId} already exists; the audit table is append-only.`, cause);
  }
}

/** Default number of write shards per actor and per day. */
export const DEFAULT_AUDIT_SHARDS = 8;

/** Partition prefix of an actor: the user when known, else the machine client or key, else anonymous. */
export function actorPartition(actor: Pick<AuditActor, 'sub' | 'clientId' | 'keyId'>): string {
  if (actor.sub !== undefined) return `USER#${actor.sub}`;
  if (actor.clientId !== undefined) return `CLIENT#${actor.clientId}`;
  if (actor.keyId !== undefined) return `KEY#${actor.keyId}`;
  return 'ANON';
}

/** Shard of an event, derived from its id so retries hit the same key. */
export function shardOf(eventId: string, shards: number): number {
  return Number.parseInt(sha256Hex(eventId).slice(0, 8), 16) % shards;
}

/** Sort key shared by the table and the `byTime` index. */
export function sortKeyOf(event: Pick<AuditEvent, 'timestamp' | 'eventId'>): string {
  return `${event.timestamp}#${event.eventId}`;
}

/** Table and index keys of an event. */
export function auditItemKeys(
  event: AuditEvent,
  shards: number,
): { pk: string; sk: string; gsi1pk: string; gsi1sk: string } {
  const shard = shardOf(event.eventId, shards);
  const sk = sortKeyOf(event);
  return {
    pk: `${actorPartition(event.actor)}#${shard}`,
    sk,
    gsi1pk: `DAY#${event.timestamp.slice(0, 10)}#${shard}`,
    gsi1sk: sk,
  };
}

/** Options of {@link createDynamoAuditWriter}. */
export interface DynamoAuditWriterOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Days an event stays in the table (the archive keeps it longer). */
  readonly ttlDays: number;
  /** @default DEFAULT_AUDIT_SHARDS */
  readonly shards?: number;
}

/** AWS adapter: one conditional PutItem per event, nothing else (the role may only PutItem). */
export function createDynamoAuditWriter(options: DynamoAuditWriterOptions): AuditWriter {
  const shards = options.shards ?? DEFAULT_AUDIT_SHARDS;
  if (!Number.isInteger(options.ttlDays) || options.ttlDays < 1)
    throw new Error('ttlDays must be an integer >= 1.');
  if (!Number.isInteger(shards) || shards < 1 || shards > 256)
    throw new Error('shards must be an integer 1..256.');
  return {
    async write(event) {
      // Re-validate: the table is the record of truth and must never hold an unmasked event.
      const valid = parseAuditEvent(event);
      const keys = auditItemKeys(valid, shards);
      const expiresAt = Math.floor(Date.parse(valid.timestamp) / 1000) + options.ttlDays * 86_400;
      try {
        await options.client.send(
          new PutItemCommand({
            TableName: options.tableName,
            Item: {
              pk: { S: keys.pk },
              sk: { S: keys.sk },
              gsi1pk: { S: keys.gsi1pk },
              gsi1sk: { S: keys.gsi1sk },
              eventId: { S: valid.eventId },
              type: { S: valid.type },
              event: { S: JSON.stringify(valid) },
              expiresAt: { N: String(expiresAt) },
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException)
          throw new AuditWriteRefusedError(valid.eventId, error);
        throw error;
      }
    },
  };
}

/** Name of the local mode's audit log inside its directory. */
export const LOCAL_AUDIT_FILE = 'audit-events.jsonl';

/** Local adapter: appends one JSON line per event to `<dir>/audit-events.jsonl` and fsyncs it. */
export function createFileAuditWriter(dir: string): AuditWriter {
  const path = join(dir, LOCAL_AUDIT_FILE);
  // Writes are chained so concurrent requests never interleave partial lines.
  let queue: Promise<void> = Promise.resolve();
  const append = async (line: string): Promise<void> => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const handle = await open(path, 'a', 0o600);
    try {
      await handle.appendFile(line, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
  return {
    async write(event) {
      const line = `${JSON.stringify(parseAuditEvent(event))}\n`;
      const result = queue.then(() => append(line));
      queue = result.catch(() => undefined);
      await result;
    },
  };
}

/** Ports of {@link failClosed}. */
export interface FailClosedDeps {
  readonly metrics: AuditMetrics;
  readonly logger: AuditLogger;
}

function describeError(error: unknown): Record<string, unknown> {
  return error instanceof Error ? { name: error.name, message: error.message } : { message: String(error) };
}

/**
 * Wraps a writer so a failed write stops the request: it emits `AuditWriteFailed`, logs the
 * full (already masked) event as the fallback record, and throws a 503 ServiceUnavailableError,
 * so the caller never calls the model, or never releases its reply, without an audit record.
 */
export function failClosed(writer: AuditWriter, deps: FailClosedDeps): AuditWriter {
  return {
    async write(event) {
      try {
        await writer.write(event);
      } catch (cause) {
        // Each side channel is best effort on its own: a broken metrics port must not hide the log.
        try {
          deps.metrics.addMetric('AuditWriteFailed', 'Count', 1);
        } catch {
          // The 503 below is what keeps the request from proceeding; nothing more to do here.
        }
        try {
          deps.logger.error('Audit write failed; full event follows', {
            auditWriteFailed: true,
            auditEvent: event,
            error: describeError(cause),
          });
        } catch {
          // Same as above: the throw is the guarantee.
        }
        throw new ServiceUnavailableError(undefined, 2, cause);
      }
    },
  };
}
