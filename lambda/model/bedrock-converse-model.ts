/**
 * The model in aws and hybrid mode: Bedrock Converse with our guardrail on every call
 * (DESIGN.md section 4). The guardrail runs with `trace: 'enabled'` so we can tell whether
 * it acted on the prompt or on the reply, which decides the message the user sees, and which
 * policies fired (content filter, denied topic, PII type, ...), which become the audit's and
 * the metrics' decisions. Bedrock's errors are mapped here, so no AWS detail reaches a caller.
 */
import {
  type BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandOutput,
  type GuardrailAssessment,
  type GuardrailTraceAssessment,
} from '@aws-sdk/client-bedrock-runtime';
import type { GuardrailDecision } from '../audit/event';
import type { ChatModel, ModelGuardrailVerdict, ModelReply, ModelRequest } from '../chat/ports';
import { ModelThrottledError, ModelUnavailableError } from './errors';

/** Options of {@link createBedrockChatModel}. */
export interface BedrockChatModelOptions {
  readonly client: BedrockRuntimeClient;
  /** The Bedrock guardrail applied to every call: id or ARN, and a version (`DRAFT` only for trials). */
  readonly guardrail: { readonly identifier: string; readonly version: string };
  /** Label shown to users with each reply. */
  readonly label: string;
}

const GUARDRAIL_VERSION = /^(DRAFT|[1-9][0-9]{0,7})$/;

/** Guardrail actions that mean it changed the text (blocked it or masked part of it). */
const BLOCKING = new Set(['BLOCKED']);
const MASKING = new Set(['ANONYMIZED']);

/** Bedrock error names, by how we answer them. */
const THROTTLED: Record<string, number> = {
  ThrottlingException: 2,
  // Token quotas are per minute: asking again within seconds would only fail again.
  ServiceQuotaExceededException: 30,
};
const TRANSIENT = new Set([
  'ServiceUnavailableException',
  'InternalServerException',
  'ModelNotReadyException',
]);
const TIMEOUTS = new Set(['ModelTimeoutException', 'TimeoutError', 'AbortError', 'RequestTimeout']);
const MISCONFIGURED = new Set([
  'ValidationException',
  'AccessDeniedException',
  'ResourceNotFoundException',
  'UnrecognizedClientException',
  'ConflictException',
]);

/**
 * A connection that failed before Bedrock answered: a socket error (`ECONNREFUSED`, ...) or
 * an HTTP/2 session error, on the error or anywhere in its cause chain (the HTTP/2 handler
 * wraps the socket error).
 */
export function isTransportFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|ERR_HTTP2_[A-Z_]+|ERR_STREAM_[A-Z_]+)$/.test(code))
      return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Maps a Bedrock or transport error to the model errors of the port. */
export function mapConverseError(error: unknown): ModelThrottledError | ModelUnavailableError {
  const name = error instanceof Error ? error.name : '';
  const throttledFor = THROTTLED[name];
  if (throttledFor !== undefined) return new ModelThrottledError(throttledFor, error);
  if (TIMEOUTS.has(name)) return new ModelUnavailableError('timeout', 2, error);
  if (TRANSIENT.has(name) || isTransportFailure(error))
    return new ModelUnavailableError('unavailable', 2, error);
  // Refused requests will fail again until someone fixes the deployment: a longer pause.
  if (MISCONFIGURED.has(name)) return new ModelUnavailableError('misconfigured', 30, error);
  return new ModelUnavailableError('model_error', 5, error);
}

/** The `action` values anywhere in one assessment (policies nest them at different depths). */
function actionsOf(value: unknown, depth = 0, into = new Set<string>()): Set<string> {
  if (depth > 6 || typeof value !== 'object' || value === null) return into;
  if (Array.isArray(value)) {
    for (const item of value) actionsOf(item, depth + 1, into);
    return into;
  }
  for (const [key, member] of Object.entries(value)) {
    if (key === 'invocationMetrics' || key === 'appliedGuardrailDetails') continue;
    if (key === 'action' && typeof member === 'string') into.add(member);
    else actionsOf(member, depth + 1, into);
  }
  return into;
}

function anyAction(assessments: readonly GuardrailAssessment[], wanted: ReadonlySet<string>): boolean {
  return assessments.some((assessment) => [...actionsOf(assessment)].some((action) => wanted.has(action)));
}

/**
 * Which side the guardrail acted on, from its trace. A blocked prompt wins (the model then
 * never ran); then anything done to the reply; then a masked prompt.
 */
export function guardrailSideOf(trace: GuardrailTraceAssessment | undefined): 'input' | 'output' | undefined {
  if (trace === undefined) return undefined;
  const input = Object.values(trace.inputAssessment ?? {});
  const output = Object.values(trace.outputAssessments ?? {}).flat();
  if (anyAction(input, BLOCKING)) return 'input';
  if (anyAction(output, BLOCKING) || anyAction(output, MASKING)) return 'output';
  if (anyAction(input, MASKING)) return 'input';
  return undefined;
}

/** Trace actions that mean a policy fired, as the audit trail records them; `NONE` did nothing. */
const DECISION_ACTIONS: Readonly<Record<string, GuardrailDecision['action']>> = {
  BLOCKED: 'block',
  ANONYMIZED: 'mask',
};

/**
 * Content-filter types by the category the dashboard and the local engine use: a prompt
 * attack is `PROMPT_ATTACK` whichever layer caught it (it feeds `PromptInjectionDetected`);
 * the harm categories keep Bedrock's names, which the local engine does not use.
 */
const CONTENT_CATEGORIES: Readonly<Record<string, string>> = {
  PROMPT_ATTACK: 'PROMPT_ATTACK',
  HATE: 'HATE',
  INSULTS: 'INSULTS',
  SEXUAL: 'SEXUAL',
  VIOLENCE: 'VIOLENCE',
  MISCONDUCT: 'MISCONDUCT',
};

/** Most Bedrock decisions kept for one reply (the audit event holds 64 in all). */
export const MAX_BEDROCK_DECISIONS = 16;

/**
 * A trace value as a rule or category id of the audit schema (`[\w.:/-]`, no spaces): topic
 * and regex names are the operator's own and may hold spaces or punctuation. Never the
 * matched text: only names the guardrail's configuration gave.
 */
function idPart(value: string | undefined): string {
  const id = (value ?? '')
    .replace(/[^\w.-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 64);
  return id === '' ? 'unnamed' : id;
}

/** The policies that fired in one assessment, as decisions of the `bedrock` layer. */
function decisionsOf(assessment: GuardrailAssessment, into: GuardrailDecision[]): void {
  const add = (action: string | undefined, rule: string, category: string): void => {
    const decided = action === undefined ? undefined : DECISION_ACTIONS[action];
    if (decided !== undefined) into.push({ layer: 'bedrock', rule, category, action: decided });
  };
  for (const filter of assessment.contentPolicy?.filters ?? []) {
    const type = idPart(filter.type);
    add(filter.action, `bedrock.content.${type}`, CONTENT_CATEGORIES[type] ?? 'CONTENT');
  }
  for (const topic of assessment.topicPolicy?.topics ?? [])
    add(topic.action, `bedrock.topic.${idPart(topic.name)}`, 'TOPIC');
  for (const word of assessment.wordPolicy?.customWords ?? []) add(word.action, 'bedrock.word', 'WORD');
  for (const word of assessment.wordPolicy?.managedWordLists ?? [])
    add(word.action, `bedrock.word.${idPart(word.type)}`, 'WORD');
  for (const entity of assessment.sensitiveInformationPolicy?.piiEntities ?? [])
    add(entity.action, `bedrock.pii.${idPart(entity.type)}`, 'PII');
  // Custom regexes are `CUSTOM` in the local engine too.
  for (const regex of assessment.sensitiveInformationPolicy?.regexes ?? [])
    add(regex.action, `bedrock.regex.${idPart(regex.name)}`, 'CUSTOM');
  for (const filter of assessment.contextualGroundingPolicy?.filters ?? [])
    add(filter.action, `bedrock.grounding.${idPart(filter.type)}`, 'GROUNDING');
}

/**
 * Every policy the guardrail enforced, from its trace: one decision per fired policy (a
 * content filter, a denied topic, a PII type, a regex, the word lists, a grounding check),
 * prompt side first, each at most once per action, at most {@link MAX_BEDROCK_DECISIONS}.
 * Policies that only detected (`NONE`) are left out. Identifiers only: never the matched text.
 */
export function guardrailDecisionsOf(trace: GuardrailTraceAssessment | undefined): GuardrailDecision[] {
  if (trace === undefined) return [];
  const all: GuardrailDecision[] = [];
  for (const assessment of Object.values(trace.inputAssessment ?? {})) decisionsOf(assessment, all);
  for (const assessments of Object.values(trace.outputAssessments ?? {}))
    for (const assessment of assessments ?? []) decisionsOf(assessment, all);
  const seen = new Set<string>();
  const unique: GuardrailDecision[] = [];
  for (const decision of all) {
    const key = `${decision.rule}|${decision.action}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(decision);
    if (unique.length === MAX_BEDROCK_DECISIONS) break;
  }
  return unique;
}

/** The decision recorded when the guardrail intervened but its trace names no policy. */
const UNATTRIBUTED: GuardrailDecision = {
  layer: 'bedrock',
  rule: 'bedrock.guardrail',
  category: 'UNATTRIBUTED',
  action: 'block',
};

/**
 * Reads the guardrail's verdict from a Converse answer. One decision per policy that fired;
 * a trace that names none (missing or unreadable) still yields one, so no intervention goes
 * uncounted. On the reply, when every policy that fired only anonymized, Bedrock's text is
 * the model's reply with those spans masked: a `mask` verdict, delivered like a reply.
 */
export function guardrailVerdictOf(output: {
  /** Converse's stop reason, or the one ConverseStream's `messageStop` event carried. */
  readonly stopReason?: string;
  readonly trace?: { readonly guardrail?: GuardrailTraceAssessment };
}): ModelGuardrailVerdict {
  if (output.stopReason !== 'guardrail_intervened') return { action: 'none' };
  const trace = output.trace?.guardrail;
  const side = guardrailSideOf(trace);
  const decisions = guardrailDecisionsOf(trace);
  if (side === 'output' && decisions.length > 0 && decisions.every((d) => d.action === 'mask')) {
    return { action: 'mask', decisions };
  }
  return {
    action: 'block',
    ...(side === undefined ? {} : { side }),
    decisions: decisions.length > 0 ? decisions : [UNATTRIBUTED],
  };
}

function replyOf(output: ConverseCommandOutput): ModelReply {
  const content = output.output?.message?.content ?? [];
  return {
    text: content.map((block) => block.text ?? '').join(''),
    inputTokens: output.usage?.inputTokens ?? 0,
    outputTokens: output.usage?.outputTokens ?? 0,
    stopReason: output.stopReason ?? 'unknown',
    guardrail: guardrailVerdictOf(output),
  };
}

/** A {@link ChatModel} on Bedrock Converse with the guardrail on every call. */
export function createBedrockChatModel(options: BedrockChatModelOptions): ChatModel {
  const { client, guardrail, label } = options;
  if (guardrail.identifier.trim() === '')
    throw new Error('createBedrockChatModel: the guardrail identifier is empty.');
  if (!GUARDRAIL_VERSION.test(guardrail.version)) {
    throw new Error(
      `createBedrockChatModel: guardrail version "${guardrail.version}" is not DRAFT or a number.`,
    );
  }
  return {
    label,
    async converse(request: ModelRequest): Promise<ModelReply> {
      const command = new ConverseCommand({
        modelId: request.modelId,
        // Converse refuses empty text blocks, so an empty system prompt is left out.
        ...(request.system === '' ? {} : { system: [{ text: request.system }] }),
        messages: request.messages.map((message) => ({
          role: message.role,
          content: [{ text: message.text }],
        })),
        inferenceConfig: { maxTokens: request.maxOutputTokens },
        guardrailConfig: {
          guardrailIdentifier: guardrail.identifier,
          guardrailVersion: guardrail.version,
          trace: 'enabled',
        },
      });
      let output: ConverseCommandOutput;
      try {
        output = await client.send(
          command,
          request.signal === undefined ? {} : { abortSignal: request.signal },
        );
      } catch (error) {
        throw mapConverseError(error);
      }
      return replyOf(output);
    },
  };
}
