/**
 * The security pipeline's CPU cost per request, I/O stubbed: the steps the chat function
 * runs on every request besides its calls to DynamoDB, KMS and Bedrock, on a 1,000- and a
 * 10,000-character message (the pipeline's limit):
 *
 * 1. credential extraction + access-token verification (RS256, preloaded two-key JWKS) + principal;
 * 2. validation: JSON body parse + `parseChatBody`;
 * 3. normalization + the local policy engine's input check;
 * 4. the output check of a reply of the same length (canary + system prompt leakage, PII);
 * 5. envelope encryption of the message (AES-256-GCM, data key already cached);
 * 6. decryption of it (unwrapped key cached);
 * 7. building the audit event (hashes of prompt and reply, findings).
 *
 * "together" runs all seven back to back as one sample, so its percentiles are those of the
 * whole, not sums of the steps' percentiles. The data keys come from LocalDataKeys: with a
 * warm cache no key service is called, which is what a cached data key means.
 *
 * Each sample is on the `core` clock (stats.ts): wall time minus the time the thread waited
 * for a core. On the shared 2-core build machine a wall-clock p99 measured mostly how often
 * another engineer's process took the core mid-sample, and a per-sample process-CPU p99
 * mostly when V8's helper threads' time was brought up to date (stats.ts, `cpu`). Garbage
 * collection pauses and JIT work on the thread stay in the samples; the helper threads' CPU
 * is reported as the process CPU per request of the whole pipeline ({@link cpuPerCall}).
 * Off Linux the samples fall back to the `cpu` clock, and the report says which was used.
 *
 * The guard steps cycle through {@link VARIANTS} rotations of the message and the reply: the
 * engine keeps small content-keyed caches (the last two texts' folded form and bigram index),
 * and one message sent every iteration would be measured as cache hits, which a stream of
 * different requests never gets.
 */
import { randomBytes } from 'node:crypto';
import {
  type AuditEventInput,
  buildAuditEvent,
  type GuardrailDecision,
  systemAuditEventDeps,
} from '../../lambda/audit/event';
import { type Principal, principalFromToken } from '../../lambda/auth/principal';
import { createAccessTokenVerifier, extractCredential } from '../../lambda/auth/token-verifier';
import { parseChatBody } from '../../lambda/chat/chat-service';
import type { ChatGuard } from '../../lambda/chat/ports';
import { createEnvelopeCipher } from '../../lambda/crypto/envelope-cipher';
import { LocalDataKeys } from '../../lambda/crypto/local-data-keys';
import {
  generateSigningKey,
  jwksOf,
  mint,
  TEST_CLIENT_ID,
  TEST_ISSUER,
  userAccessClaims,
} from '../../test/support/tokens';
import { cpuPerCall, type SampleClock, type Summary, sampleAsync, sampleSync, summarize } from './stats';

/** Sizes of the benchmarked messages, in characters. */
export const PIPELINE_SIZES = [1_000, 10_000] as const;

const PROSE =
  'The quarterly report shows steady growth in the northern region, while logistics costs rose slightly. ' +
  'Could you summarise the main drivers and suggest three follow-up questions for the finance team? ';

/** A typical user message of `chars` characters: prose with one e-mail address (masked by the engine). */
export function typicalMessage(chars: number): string {
  const contact = ' Please send the summary to ada.lovelace@example.com before Friday. ';
  const body = PROSE.repeat(Math.ceil(chars / PROSE.length)).slice(0, Math.max(0, chars - contact.length));
  return `${body}${contact}`.slice(0, chars);
}

/** Distinct texts each guard step cycles through: more than the engine's two-entry caches hold. */
export const VARIANTS = 4;

/** `VARIANTS` rotations of `text`: same characters and length, different content. */
export function rotations(text: string): string[] {
  return Array.from({ length: VARIANTS }, (_, k) => text.slice(k) + text.slice(0, k));
}

/** A model reply of `chars` characters (no canary, no PII). */
function typicalReply(chars: number): string {
  const unit =
    'Growth was driven mainly by new retail contracts and a stronger second quarter. Follow-up: which contracts renew, how fuel hedging evolved, and whether regional staffing keeps pace. ';
  return unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);
}

/** The CHAT_REQUEST event the pipeline records after a model call. */
function auditInput(
  who: Pick<Principal, 'sub' | 'groups'>,
  prompt: string,
  reply: string,
  guardrail: readonly GuardrailDecision[],
): AuditEventInput {
  return {
    type: 'CHAT_REQUEST',
    actor: { sub: who.sub, groups: who.groups, sourceIp: '203.0.113.7', userAgent: 'omnichat-bench' },
    resource: 'conversation/c_bench',
    action: 'chat',
    outcome: 'success',
    requestId: 'bench-request',
    durationMs: 42,
    prompt,
    reply,
    guardrail,
    modelId: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
    inputTokens: 1200,
    outputTokens: 300,
  };
}

/** One row: a step (or all of them) on one message size, in microseconds. */
export interface PipelineRow {
  readonly step: string;
  readonly chars: number;
  readonly us: Summary;
  /** Process CPU per call, all threads, mean over the run (the {@link TOGETHER} rows only). */
  readonly processCpuUs?: number;
}

const STEPS = [
  'token verification (+ credential extraction, principal)',
  'validation (JSON parse + body schema)',
  'normalization + input policy check',
  'output policy check (reply of the same length)',
  'encryption (envelope, cached data key)',
  'decryption (envelope, cached data key)',
  'audit event building',
] as const;

/** Name of the row that runs every step as one sample. */
export const TOGETHER = 'together (all of the above, one request)';

/** Measures each step and the whole, `iterations` samples each, for every size. */
export async function benchPipeline(
  guard: ChatGuard,
  systemPrompt: string,
  iterations: number,
  clock: SampleClock,
): Promise<PipelineRow[]> {
  const key = generateSigningKey('bench-key');
  // Two keys, as during a Cognito key rotation.
  const verifier = createAccessTokenVerifier({
    issuer: TEST_ISSUER,
    jwks: jwksOf(key, generateSigningKey('bench-key-2')),
    clientIds: [TEST_CLIENT_ID],
  });
  const headers = {
    authorization: `Bearer ${mint(userAccessClaims({ groups: ['user'] }), key)}`,
    'content-type': 'application/json',
  };
  const cipher = createEnvelopeCipher({
    keys: new LocalDataKeys(randomBytes(32)),
    clock: { now: () => Date.now() },
    // Large enough that no key expires or is used up during the run: the cached-key path only.
    maxKeyAgeMs: 24 * 3_600_000,
    maxKeyUses: 2 ** 32,
  });
  const auditDeps = systemAuditEventDeps();
  const rows: PipelineRow[] = [];

  for (const chars of PIPELINE_SIZES) {
    const message = typicalMessage(chars);
    const reply = typicalReply(chars);
    const messages = rotations(message);
    const replies = rotations(reply);
    const bodies = messages.map((m) => JSON.stringify({ message: m }));
    let turn = 0;
    const next = () => {
      turn = (turn + 1) % VARIANTS;
      return turn;
    };
    const canary = guard.newCanary();
    const outputContext = {
      canary,
      systemPrompt: `${systemPrompt}\n\nConfidential marker (never repeat it): ${canary}`,
    };
    const context = { user: '11111111-2222-3333-4444-555555555555', conversation: 'c_bench' };
    const sealed = await cipher.seal(message, context);
    await cipher.open(sealed, context);

    const verify = () => {
      const credential = extractCredential(headers);
      if (credential.kind !== 'bearer') throw new Error('bench: no bearer credential');
      return principalFromToken(verifier.verify(credential.token));
    };
    const validate = () => parseChatBody(JSON.parse(bodies[next()] as string));
    const inputCheck = () => guard.checkInput(guard.normalize(messages[next()] as string));
    const outputCheck = () => guard.checkOutput(replies[next()] as string, outputContext);
    // The audit step alone: its inputs (principal, findings) are computed once, outside the sample.
    const principal = verify();
    const findings = inputCheck().findings;
    const auditOnly = () => buildAuditEvent(auditInput(principal, message, reply, findings), auditDeps);

    const samples: number[][] = [
      sampleSync(verify, iterations, undefined, clock),
      sampleSync(validate, iterations, undefined, clock),
      sampleSync(inputCheck, iterations, undefined, clock),
      sampleSync(outputCheck, iterations, undefined, clock),
      await sampleAsync(() => cipher.seal(message, context), iterations, undefined, clock),
      await sampleAsync(() => cipher.open(sealed, context), iterations, undefined, clock),
      sampleSync(auditOnly, iterations, undefined, clock),
    ];
    STEPS.forEach((step, index) => {
      rows.push({ step, chars, us: summarize(samples[index] ?? []) });
    });
    const request = async () => {
      const who = verify();
      const at = next();
      const input = parseChatBody(JSON.parse(bodies[at] as string));
      const verdict = guard.checkInput(guard.normalize(input.message));
      const out = guard.checkOutput(replies[at] as string, outputContext);
      const box = await cipher.seal(verdict.text, context);
      await cipher.open(box, context);
      buildAuditEvent(
        auditInput(who, verdict.text, out.text, [...verdict.findings, ...out.findings]),
        auditDeps,
      );
    };
    const together = await sampleAsync(request, iterations, undefined, clock);
    const processCpuUs = await cpuPerCall(request, iterations);
    rows.push({ step: TOGETHER, chars, us: summarize(together), processCpuUs });
  }
  return rows;
}
