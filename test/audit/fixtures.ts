/** Shared builders for the audit suites: deterministic clocks, ids and realistic stream records. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import {
  type AuditEvent,
  type AuditEventDeps,
  type AuditEventInput,
  buildAuditEvent,
  createEventIdGenerator,
} from '../../lambda/audit/event';
import type { AuditMetricName } from '../../lambda/audit/writer';

/** A clock that advances one second per reading from a fixed start. */
export function steppingClock(startIso = '2026-11-23T10:00:00.000Z', stepMs = 1000): () => Date {
  let next = Date.parse(startIso);
  return () => {
    const now = new Date(next);
    next += stepMs;
    return now;
  };
}

/** Deterministic builder deps (seeded ids). */
export function testDeps(startIso?: string, stepMs?: number): AuditEventDeps {
  let counter = 0;
  return {
    now: steppingClock(startIso, stepMs),
    ids: createEventIdGenerator((bytes) =>
      Uint8Array.from({ length: bytes }, (_, i) => (counter++ * 7 + i) % 256),
    ),
  };
}

/** A typical chat request input. */
export function chatInput(overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    type: 'CHAT_REQUEST',
    actor: {
      sub: '3f1c2a9e-0000-4000-8000-000000000001',
      groups: ['user'],
      clientId: 'web-client',
      sourceIp: '198.51.100.7',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
    },
    resource: 'conversation/c-42',
    action: 'chat.converse',
    outcome: 'success',
    requestId: 'req-0001',
    durationMs: 842,
    prompt: 'My card is 4111 1111 1111 1111, mail me at ada@example.com',
    reply: 'I cannot help with card numbers.',
    guardrail: [{ layer: 'local', rule: 'pii.card', category: 'PII', action: 'mask' }],
    modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
    inputTokens: 31,
    outputTokens: 9,
    ...overrides,
  };
}

/** Builds `count` events of one user, one second apart. */
export function manyEvents(count: number, startIso?: string, sub = 'user-a'): AuditEvent[] {
  const deps = testDeps(startIso);
  return Array.from({ length: count }, (_, i) =>
    buildAuditEvent(
      chatInput({ actor: { sub, sourceIp: '198.51.100.7' }, requestId: `req-${i}`, prompt: `prompt ${i}` }),
      deps,
    ),
  );
}

/** Collects metrics emitted through the port. */
export function recordingMetrics(): {
  calls: [AuditMetricName, 'Count', number][];
  addMetric: (n: AuditMetricName, u: 'Count', v: number) => void;
} {
  const calls: [AuditMetricName, 'Count', number][] = [];
  return { calls, addMetric: (name, unit, value) => calls.push([name, unit, value]) };
}

/** Collects structured log lines. */
export function recordingLogger(): {
  errors: [string, Record<string, unknown>][];
  infos: [string, Record<string, unknown>][];
  error: (m: string, a: Record<string, unknown>) => void;
  info: (m: string, a: Record<string, unknown>) => void;
} {
  const errors: [string, Record<string, unknown>][] = [];
  const infos: [string, Record<string, unknown>][] = [];
  return {
    errors,
    infos,
    error: (message, attributes) => errors.push([message, attributes]),
    info: (message, attributes) => infos.push([message, attributes]),
  };
}

/** The item the DynamoDB writer stores for an event, as a stream image. */
export type Image = Record<string, AttributeValue>;

const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:111122223333:table/AuditTable/stream/2026-11-23T00:00:00.000';

/** A stream record as Lambda delivers it (NEW_AND_OLD_IMAGES). */
export function streamRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  sequence: number,
  images: { keys: Image; newImage?: Image; oldImage?: Image },
  options: { timeSeconds?: number; userIdentity?: { type: string; principalId: string } } = {},
): DynamoDBRecord {
  return {
    eventID: `evt-${String(sequence).padStart(8, '0')}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    eventSourceARN: STREAM_ARN,
    dynamodb: {
      ApproximateCreationDateTime: options.timeSeconds ?? 1_795_000_000 + sequence,
      Keys: images.keys,
      ...(images.newImage !== undefined && { NewImage: images.newImage }),
      ...(images.oldImage !== undefined && { OldImage: images.oldImage }),
      SequenceNumber: String(100_000_000_000_000_000n + BigInt(sequence)),
      SizeBytes: 512,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    ...(options.userIdentity !== undefined && { userIdentity: options.userIdentity }),
  };
}

/** The image the writer would store for an event (same attributes as createDynamoAuditWriter). */
export function imageOf(event: AuditEvent, ttlSeconds = 86_400 * 30): Image {
  const sk = `${event.timestamp}#${event.eventId}`;
  return {
    pk: { S: `USER#${event.actor.sub ?? 'anon'}#0` },
    sk: { S: sk },
    gsi1pk: { S: `DAY#${event.timestamp.slice(0, 10)}#0` },
    gsi1sk: { S: sk },
    eventId: { S: event.eventId },
    type: { S: event.type },
    event: { S: JSON.stringify(event) },
    expiresAt: { N: String(Math.floor(Date.parse(event.timestamp) / 1000) + ttlSeconds) },
  };
}

/** INSERT records for events, numbered from `firstSequence`. */
export function insertRecords(events: readonly AuditEvent[], firstSequence = 1): DynamoDBRecord[] {
  return events.map((event, i) => {
    const image = imageOf(event);
    return streamRecord('INSERT', firstSequence + i, {
      keys: { pk: image.pk!, sk: image.sk! },
      newImage: image,
    });
  });
}

/** A fresh temporary directory. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `omnichat-${prefix}-`));
}
