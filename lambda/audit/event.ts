/**
 * The one schema of an audit event, its validator and its builder.
 *
 * Field names follow seed 002's log format where they fit (`timestamp`, event type, user id,
 * success, `duration_ms`, IP address), in camelCase, grouped under `actor`, and without the
 * user's email: the Cognito `sub` identifies the user without putting PII in the trail.
 *
 * Prompt and reply text never reach an event: the builder turns them into a length and a
 * SHA-256 and drops them. Every other free-text value is PII-masked on build, and its stored
 * type is the branded `MaskedText` that only this module produces, so unmasked text cannot be
 * smuggled into `details` by a caller.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ValidationError } from '../shared/errors';
import { maskAuditText } from './mask';

/** Every kind of audit event. */
export const AUDIT_EVENT_TYPES = [
  'AUTHN_SUCCESS',
  'AUTHN_FAILURE',
  // Local mode's sign-in form (POST /login); in AWS Cognito's auth-event log holds sign-ins.
  'AUTH_SIGN_IN',
  'AUTHZ_DENIED',
  'CHAT_REQUEST',
  'DATA_ACCESS',
  'DATA_EXPORT',
  'DATA_ERASURE',
  'API_KEY_CREATED',
  'API_KEY_REVOKED',
  'SETTINGS_CHANGED',
  'MODEL_ALLOWLIST_CHANGED',
  'AUDIT_QUERY',
] as const;
/** Kind of an audit event. */
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** How the audited action ended. */
export const AUDIT_OUTCOMES = ['success', 'failure', 'denied', 'blocked', 'attempted'] as const;
/**
 * How the audited action ended: `denied` by authorization, `blocked` by a guardrail;
 * `attempted` is the record written before an action whose result follows in its own record
 * (a `.request` action), so the trail never claims a success that did not happen.
 */
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** Guardrail layers of DESIGN.md section 6. */
export const GUARDRAIL_LAYERS = ['waf', 'local', 'bedrock', 'output'] as const;
/** Guardrail actions recorded in an event. */
export const GUARDRAIL_ACTIONS = ['allow', 'flag', 'mask', 'block'] as const;

/** One guardrail decision: identifiers only, never the matched text. */
export interface GuardrailDecision {
  readonly layer: (typeof GUARDRAIL_LAYERS)[number];
  readonly rule: string;
  readonly category: string;
  readonly action: (typeof GUARDRAIL_ACTIONS)[number];
}

declare const maskedTextBrand: unique symbol;
/** Free text that went through PII masking; only this module creates values of this type. */
export type MaskedText = string & { readonly [maskedTextBrand]: true };

/** Who acted. `sourceIp` is the actor's own address and stays readable. */
export interface AuditActor {
  readonly sub?: string;
  readonly groups?: readonly string[];
  readonly clientId?: string;
  readonly keyId?: string;
  readonly sourceIp?: string;
  readonly userAgent?: MaskedText;
}

/** Value of an extra detail field once built. */
export type AuditFieldValue = MaskedText | number | boolean | null;

/** Details of an event: measurements, hashes and decisions, plus masked free text. */
export interface AuditDetails {
  readonly promptLength?: number;
  readonly promptSha256?: string;
  readonly replyLength?: number;
  readonly replySha256?: string;
  readonly guardrail?: readonly GuardrailDecision[];
  readonly modelId?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly reason?: MaskedText;
  readonly fields?: Readonly<Record<string, AuditFieldValue>>;
}

/** Current version of the event schema, stored in every event. */
export const AUDIT_SCHEMA_VERSION = 1;

/** An audit event as written to the table and the archive. */
export interface AuditEvent {
  readonly schemaVersion: typeof AUDIT_SCHEMA_VERSION;
  readonly eventId: string;
  readonly timestamp: string;
  readonly type: AuditEventType;
  readonly actor: AuditActor;
  readonly resource: MaskedText;
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly requestId: string;
  readonly durationMs: number;
  readonly details: AuditDetails;
}

/** What a handler hands to the builder. `prompt` and `reply` are hashed, then dropped. */
export interface AuditEventInput {
  readonly type: AuditEventType;
  readonly actor: {
    readonly sub?: string;
    readonly groups?: readonly string[];
    readonly clientId?: string;
    readonly keyId?: string;
    readonly sourceIp?: string;
    readonly userAgent?: string;
  };
  readonly resource: string;
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly requestId: string;
  readonly durationMs: number;
  readonly prompt?: string;
  readonly reply?: string;
  readonly guardrail?: readonly GuardrailDecision[];
  readonly modelId?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly reason?: string;
  readonly fields?: Readonly<Record<string, string | number | boolean | null>>;
}

/** Production clock and id source for {@link buildAuditEvent}. */
export function systemAuditEventDeps(): AuditEventDeps {
  return { now: () => new Date(), ids: createEventIdGenerator() };
}

/** Generates a sortable event id for a given time. */
export type EventIdGenerator = (timeMs: number) => string;

/** Clock and id source of {@link buildAuditEvent}; injected so tests are deterministic. */
export interface AuditEventDeps {
  readonly now: () => Date;
  readonly ids: EventIdGenerator;
}

/** Limits that keep an event small (DynamoDB items are capped at 400 KB). */
export const AUDIT_LIMITS = {
  reasonChars: 1024,
  fieldChars: 512,
  fields: 32,
  userAgentChars: 256,
  resourceChars: 512,
  guardrailDecisions: 64,
  groups: 32,
} as const;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const EVENT_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const IDENTIFIER = /^[\w.:@/+=-]{1,256}$/;
/** Guardrail rule and category ids: no `@` or spaces, so no email or sentence fits in one. */
const GUARDRAIL_ID = /^[\w.:/-]{1,128}$/;
/** Request ids come from ALB/Lambda/X-Ray (`Root=1-...;Parent=...`): printable ASCII, no spaces. */
const REQUEST_ID = /^[\x21-\x7e]{1,256}$/;
const FIELD_NAME = /^[A-Za-z][\w.-]{0,63}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/** SHA-256 of the UTF-8 bytes of a string, lowercase hex. */
export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

function encodeTime(timeMs: number): string {
  let value = timeMs;
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

/**
 * ULID-style ids (48-bit ms time + 80 random bits, Crockford base32) that sort by time and stay
 * strictly increasing within one generator even when several events share a millisecond.
 */
export function createEventIdGenerator(
  random: (bytes: number) => Uint8Array = randomBytes,
): EventIdGenerator {
  let lastTime = -1;
  let lastRandom: number[] = [];
  return (timeMs) => {
    if (timeMs <= lastTime) {
      // Same (or earlier: clock step back) millisecond: increment the random part so ids stay ordered.
      let i = lastRandom.length - 1;
      while (i >= 0 && lastRandom[i] === 31) {
        lastRandom[i] = 0;
        i--;
      }
      if (i < 0) throw new Error('Event id space of this millisecond is exhausted.');
      lastRandom[i] = (lastRandom[i] ?? 0) + 1;
    } else {
      lastTime = timeMs;
      lastRandom = Array.from(random(16), (byte) => byte % 32);
    }
    return encodeTime(lastTime) + lastRandom.map((digit) => CROCKFORD[digit]).join('');
  };
}

function masked(text: string, actorIp: string | undefined, maxChars: number): MaskedText {
  // Mask before truncating: a cut card number would no longer pass Luhn and would leak digits.
  const value = maskAuditText(text, { actorIp });
  return (value.length > maxChars ? `${value.slice(0, maxChars - 1)}…` : value) as MaskedText;
}

/**
 * Group names as the record can hold them. Cognito allows names the identifier format does
 * not (`R&D`) and more groups per user than a record keeps; refusing them would fail closed
 * on every request of such a user. Such a name is kept as a SHA-256 prefix (matchable
 * against the pool's group names), and groups beyond the limit as their count.
 */
function recordableGroups(groups: readonly string[]): string[] {
  const named = groups.map((group) =>
    IDENTIFIER.test(group) ? group : `sha256:${sha256Hex(group).slice(0, 16)}`,
  );
  if (named.length <= AUDIT_LIMITS.groups) return named;
  const kept = named.slice(0, AUDIT_LIMITS.groups - 1);
  return [...kept, `more:${named.length - kept.length}`];
}

/** Builds a validated, masked event; prompt and reply become length + SHA-256 only. */
export function buildAuditEvent(input: AuditEventInput, deps: AuditEventDeps): AuditEvent {
  const date = deps.now();
  const timeMs = date.getTime();
  const actorIp = input.actor.sourceIp;
  const actor: AuditActor = {
    ...(input.actor.sub !== undefined && { sub: input.actor.sub }),
    ...(input.actor.groups !== undefined && { groups: recordableGroups(input.actor.groups) }),
    ...(input.actor.clientId !== undefined && { clientId: input.actor.clientId }),
    ...(input.actor.keyId !== undefined && { keyId: input.actor.keyId }),
    ...(actorIp !== undefined && { sourceIp: actorIp }),
    ...(input.actor.userAgent !== undefined && {
      userAgent: masked(input.actor.userAgent, actorIp, AUDIT_LIMITS.userAgentChars),
    }),
  };
  let fields: Record<string, AuditFieldValue> | undefined;
  if (input.fields !== undefined) {
    fields = {};
    for (const [name, value] of Object.entries(input.fields)) {
      fields[name] = typeof value === 'string' ? masked(value, actorIp, AUDIT_LIMITS.fieldChars) : value;
    }
  }
  const details: AuditDetails = {
    ...(input.prompt !== undefined && {
      promptLength: input.prompt.length,
      promptSha256: sha256Hex(input.prompt),
    }),
    ...(input.reply !== undefined && {
      replyLength: input.reply.length,
      replySha256: sha256Hex(input.reply),
    }),
    ...(input.guardrail !== undefined && { guardrail: input.guardrail.map((decision) => ({ ...decision })) }),
    ...(input.type === 'CHAT_REQUEST' && input.guardrail === undefined && { guardrail: [] }),
    ...(input.modelId !== undefined && { modelId: input.modelId }),
    ...(input.inputTokens !== undefined && { inputTokens: input.inputTokens }),
    ...(input.outputTokens !== undefined && { outputTokens: input.outputTokens }),
    ...(input.reason !== undefined && { reason: masked(input.reason, actorIp, AUDIT_LIMITS.reasonChars) }),
    ...(fields !== undefined && { fields }),
  };
  const event: AuditEvent = {
    schemaVersion: AUDIT_SCHEMA_VERSION,
    eventId: deps.ids(timeMs),
    timestamp: date.toISOString(),
    type: input.type,
    actor,
    resource: masked(input.resource, actorIp, AUDIT_LIMITS.resourceChars),
    action: input.action,
    outcome: input.outcome,
    requestId: input.requestId,
    durationMs: input.durationMs,
    details,
  };
  // The builder's output goes through the same validator as anything read back, so a bad
  // identifier or number fails here, before a write, with the field's name.
  return parseAuditEvent(event);
}

type Path = string;

function fail(path: Path, problem: string): never {
  throw new ValidationError(`Invalid audit event: ${path} ${problem}.`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], path: Path): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(`${path}.${key}`, 'is not a known field');
  }
}

function identifier(value: unknown, path: Path, pattern: RegExp = IDENTIFIER): string {
  if (typeof value !== 'string' || !pattern.test(value)) fail(path, `must match ${pattern.source}`);
  return value;
}

function nonNegativeInteger(value: unknown, path: Path): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(path, 'must be a non-negative integer');
  }
  return value;
}

function maskedText(value: unknown, path: Path, actorIp: string | undefined, maxChars: number): MaskedText {
  if (typeof value !== 'string' || value.length > maxChars)
    fail(path, `must be a string of at most ${maxChars}`);
  // Masking is idempotent: text that masking would still change was never masked.
  if (maskAuditText(value, { actorIp }) !== value) fail(path, 'contains unmasked personal data');
  return value as MaskedText;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: Path): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(path, `must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function parseActor(value: unknown): AuditActor {
  if (!isRecord(value)) fail('actor', 'must be an object');
  onlyKeys(value, ['sub', 'groups', 'clientId', 'keyId', 'sourceIp', 'userAgent'], 'actor');
  let sourceIp: string | undefined;
  if (value.sourceIp !== undefined) {
    if (typeof value.sourceIp !== 'string' || !(IPV4.test(value.sourceIp) || IPV6.test(value.sourceIp))) {
      fail('actor.sourceIp', 'must be an IP address');
    }
    sourceIp = value.sourceIp;
  }
  let groups: string[] | undefined;
  if (value.groups !== undefined) {
    if (!Array.isArray(value.groups) || value.groups.length > AUDIT_LIMITS.groups) {
      fail('actor.groups', `must be an array of at most ${AUDIT_LIMITS.groups}`);
    }
    groups = value.groups.map((group, i) => identifier(group, `actor.groups[${i}]`));
  }
  return {
    ...(value.sub !== undefined && { sub: identifier(value.sub, 'actor.sub') }),
    ...(groups !== undefined && { groups }),
    ...(value.clientId !== undefined && { clientId: identifier(value.clientId, 'actor.clientId') }),
    ...(value.keyId !== undefined && { keyId: identifier(value.keyId, 'actor.keyId') }),
    ...(sourceIp !== undefined && { sourceIp }),
    ...(value.userAgent !== undefined && {
      userAgent: maskedText(value.userAgent, 'actor.userAgent', sourceIp, AUDIT_LIMITS.userAgentChars),
    }),
  };
}

function parseGuardrail(value: unknown): GuardrailDecision[] {
  if (!Array.isArray(value) || value.length > AUDIT_LIMITS.guardrailDecisions) {
    fail('details.guardrail', `must be an array of at most ${AUDIT_LIMITS.guardrailDecisions}`);
  }
  return value.map((decision, i) => {
    const path = `details.guardrail[${i}]`;
    if (!isRecord(decision)) fail(path, 'must be an object');
    onlyKeys(decision, ['layer', 'rule', 'category', 'action'], path);
    return {
      layer: oneOf(decision.layer, GUARDRAIL_LAYERS, `${path}.layer`),
      rule: identifier(decision.rule, `${path}.rule`, GUARDRAIL_ID),
      category: identifier(decision.category, `${path}.category`, GUARDRAIL_ID),
      action: oneOf(decision.action, GUARDRAIL_ACTIONS, `${path}.action`),
    };
  });
}

function sha(value: unknown, path: Path): string {
  if (typeof value !== 'string' || !SHA256_HEX.test(value)) fail(path, 'must be a lowercase hex SHA-256');
  return value;
}

function parseDetails(value: unknown, type: AuditEventType, actorIp: string | undefined): AuditDetails {
  if (!isRecord(value)) fail('details', 'must be an object');
  onlyKeys(
    value,
    [
      'promptLength',
      'promptSha256',
      'replyLength',
      'replySha256',
      'guardrail',
      'modelId',
      'inputTokens',
      'outputTokens',
      'reason',
      'fields',
    ],
    'details',
  );
  if ((value.promptLength === undefined) !== (value.promptSha256 === undefined)) {
    fail('details.promptSha256', 'and promptLength come together');
  }
  if ((value.replyLength === undefined) !== (value.replySha256 === undefined)) {
    fail('details.replySha256', 'and replyLength come together');
  }
  if (type === 'CHAT_REQUEST' && value.guardrail === undefined) {
    fail('details.guardrail', 'is required for CHAT_REQUEST');
  }
  let fields: Record<string, AuditFieldValue> | undefined;
  if (value.fields !== undefined) {
    if (!isRecord(value.fields)) fail('details.fields', 'must be an object');
    const entries = Object.entries(value.fields);
    if (entries.length > AUDIT_LIMITS.fields)
      fail('details.fields', `must have at most ${AUDIT_LIMITS.fields} keys`);
    fields = {};
    for (const [name, field] of entries) {
      const path = `details.fields.${name}`;
      if (!FIELD_NAME.test(name)) fail(path, 'has an invalid name');
      if (typeof field === 'string') fields[name] = maskedText(field, path, actorIp, AUDIT_LIMITS.fieldChars);
      else if (field === null || typeof field === 'boolean') fields[name] = field;
      else if (typeof field === 'number' && Number.isFinite(field)) fields[name] = field;
      else fail(path, 'must be a string, finite number, boolean or null');
    }
  }
  return {
    ...(value.promptLength !== undefined && {
      promptLength: nonNegativeInteger(value.promptLength, 'details.promptLength'),
      promptSha256: sha(value.promptSha256, 'details.promptSha256'),
    }),
    ...(value.replyLength !== undefined && {
      replyLength: nonNegativeInteger(value.replyLength, 'details.replyLength'),
      replySha256: sha(value.replySha256, 'details.replySha256'),
    }),
    ...(value.guardrail !== undefined && { guardrail: parseGuardrail(value.guardrail) }),
    ...(value.modelId !== undefined && { modelId: identifier(value.modelId, 'details.modelId') }),
    ...(value.inputTokens !== undefined && {
      inputTokens: nonNegativeInteger(value.inputTokens, 'details.inputTokens'),
    }),
    ...(value.outputTokens !== undefined && {
      outputTokens: nonNegativeInteger(value.outputTokens, 'details.outputTokens'),
    }),
    ...(value.reason !== undefined && {
      reason: maskedText(value.reason, 'details.reason', actorIp, AUDIT_LIMITS.reasonChars),
    }),
    ...(fields !== undefined && { fields }),
  };
}

/** Validates an unknown value as an audit event (and that its free text is masked), or throws ValidationError. */
export function parseAuditEvent(value: unknown): AuditEvent {
  if (!isRecord(value)) fail('event', 'must be an object');
  onlyKeys(
    value,
    [
      'schemaVersion',
      'eventId',
      'timestamp',
      'type',
      'actor',
      'resource',
      'action',
      'outcome',
      'requestId',
      'durationMs',
      'details',
    ],
    'event',
  );
  if (value.schemaVersion !== AUDIT_SCHEMA_VERSION) fail('schemaVersion', `must be ${AUDIT_SCHEMA_VERSION}`);
  if (typeof value.eventId !== 'string' || !EVENT_ID.test(value.eventId)) fail('eventId', 'must be a ULID');
  if (
    typeof value.timestamp !== 'string' ||
    !ISO_TIMESTAMP.test(value.timestamp) ||
    Number.isNaN(Date.parse(value.timestamp))
  ) {
    fail('timestamp', 'must be an ISO-8601 UTC timestamp with milliseconds');
  }
  const type = oneOf(value.type, AUDIT_EVENT_TYPES, 'type');
  const actor = parseActor(value.actor);
  return {
    schemaVersion: AUDIT_SCHEMA_VERSION,
    eventId: value.eventId,
    timestamp: value.timestamp,
    type,
    actor,
    resource: maskedText(value.resource, 'resource', actor.sourceIp, AUDIT_LIMITS.resourceChars),
    action: identifier(value.action, 'action'),
    outcome: oneOf(value.outcome, AUDIT_OUTCOMES, 'outcome'),
    requestId: identifier(value.requestId, 'requestId', REQUEST_ID),
    durationMs: nonNegativeInteger(value.durationMs, 'durationMs'),
    details: parseDetails(value.details, type, actor.sourceIp),
  };
}
