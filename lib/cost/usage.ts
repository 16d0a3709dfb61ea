/**
 * Variable cost of chat requests. The unit counts per request follow the chat pipeline
 * (lambda/chat/chat-service.ts) and its stores (conversation-store.ts, audit/writer.ts);
 * what the code cannot tell (message sizes, model latency, users) is a named assumption.
 */
import { auditTable, conversationsTable } from '../data/table-schemas';
import type { Inventory, UsageFacts } from './inventory';
import { MODEL_PRICES, PRICES } from './prices';

/** Assumptions about one chat request and its users. Change them here, nowhere else. */
export const ASSUMPTIONS = {
  /** Characters of the user's message (the limit is 10,000). */
  messageChars: 1_000,
  /** Characters of the model's reply. */
  replyChars: 2_000,
  /** Characters per token for English text (Bedrock's own rule of thumb). */
  charsPerToken: 4,
  /** Tokens of the system prompt with its canary. */
  systemPromptTokens: 300,
  /** Share of requests that continue a conversation (read its header and recent turns). */
  continuingShare: 0.8,
  /** Earlier turns read, decrypted and sent as context when continuing (the query reads up to 20). */
  priorTurns: 4,
  /** Wall time of the chat function: it waits for the model (about 500 tokens at ~150/s) and the guardrail. */
  chatDurationMs: 4_000,
  /** Memory of the chat function while it is not in the templates: ApiFunction's default. */
  defaultChatMemoryMb: 512,
  /**
   * Stored size of each audit item a successful chat writes (event JSON, keys, TTL), measured
   * per event in test/cost with a browser user agent: the claim check's AUTHN_SUCCESS (~800 B:
   * no prompt, so one write unit), the write-ahead chat.model_call (~1,020 B with one guardrail
   * finding: counted at two units, since a second finding or a longer user agent crosses
   * 1 KB) and the chat outcome (~1.2 KB with both hashes, tokens and model: two units). Each
   * is written again to the `byTime` index, which projects the whole item.
   */
  auditItemBytes: { authorization: 900, modelCall: 1_250, outcome: 1_250 },
  /** SealedText JSON without its ciphertext: wrapped data key (~248 base64 chars), iv, tag, field names. */
  sealedOverheadBytes: 330,
  /** Other attributes of a turn item (keys, model id, usage, TTL). */
  turnAttributesBytes: 250,
  /** Header item: sealed 80-character title plus keys and counters. */
  headerItemBytes: 600,
  /**
   * KMS calls per request: one. A conversation keeps one data key for up to 24 hours and 20
   * turns (lambda/chat/conversation-key.ts): a new conversation costs one GenerateDataKey; a
   * continuing one one Decrypt (all turns read back share the key, and the new turn is sealed
   * under it). A warm instance that still caches the key makes none; counted as one anyway.
   */
  kmsRequestsPerRequest: 1,
  /** Rate-limit bucket, token reservation, settlement: three conditional UpdateItems of small items. */
  limitWritesPerRequest: 3,
  /** Log bytes a chat request writes: START/END/REPORT lines, one structured request log, EMF metrics. */
  lambdaLogBytesPerRequest: 2_000,
  /** Bytes of one WAF log record (headers, rule matches; authorization and cookie redacted). */
  wafLogBytesPerRequest: 1_500,
  /** Flow-log bytes a request causes (a few records on the function's ENI towards the endpoints). */
  flowLogBytesPerRequest: 400,
  /** Request headers and TLS framing through the load balancer, each way. */
  httpOverheadBytes: 1_000,
  /** Bedrock and KMS protocol overhead through the interface endpoints per request. */
  endpointOverheadBytes: 6_000,
  /** A new client connection per request (no keep-alive): the pessimistic LCU dimension. */
  newConnectionsPerRequest: 1,
  /** Archiver run time per batch (read chain head, hash, write batch and head). */
  archiverDurationMs: 400,
  /** S3 requests per archived batch: batch PutObject and head PutObject; head GetObject. */
  archiverPutsPerBatch: 2,
  archiverGetsPerBatch: 1,
  /** Chat requests per monthly active user (Cognito bills users, not requests). */
  requestsPerMonthlyUser: 150,
  /** CloudWatch Logs compresses archived data about 6:1 (storage is billed compressed). */
  logCompressionRatio: 0.15,
  /**
   * Converse with a guardrail evaluates every message sent, earlier turns included, unless
   * the latest one is marked with guardContent; the pipeline sends plain messages.
   */
  guardrailEvaluatesHistory: true,
  /** Guardrail policies when the templates have no guardrail yet (DESIGN.md section 6). */
  designGuardrail: { content: true, topics: true, pii: true, grounding: false },
} as const;

const GB = 1024 ** 3;
const DAYS_PER_MONTH = 30.4167;

/** Audit events per successful chat (one item each, see {@link ASSUMPTIONS}.auditItemBytes). */
export const AUDIT_EVENTS_PER_REQUEST = Object.keys(ASSUMPTIONS.auditItemBytes).length;

/** Bytes of the audit items of one chat request (table only, without the index copies). */
export function auditBytesPerRequest(): number {
  return Object.values(ASSUMPTIONS.auditItemBytes).reduce((sum, bytes) => sum + bytes, 0);
}

/** Bytes of a sealed text of `chars` characters (AES-GCM ciphertext, base64, in JSON). */
export function sealedBytes(chars: number): number {
  return ASSUMPTIONS.sealedOverheadBytes + Math.ceil((chars * 4) / 3);
}

/** Bytes of one stored turn item. */
export function turnItemBytes(): number {
  return (
    sealedBytes(ASSUMPTIONS.messageChars) +
    sealedBytes(ASSUMPTIONS.replyChars) +
    ASSUMPTIONS.turnAttributesBytes
  );
}

/** Request units of one chat request, counted from the pipeline. */
export interface RequestUnits {
  readonly writeUnits: number;
  readonly readUnits: number;
  readonly kmsRequests: number;
}

/** DynamoDB and KMS units per chat request (average over new and continuing conversations). */
export function requestUnits(): RequestUnits {
  const a = ASSUMPTIONS;
  const wru = (bytes: number) => Math.ceil(bytes / 1024);
  const rru = (bytes: number) => Math.ceil(bytes / 4096); // strongly consistent
  const auditIndexes = auditTable.globalIndexes?.length ?? 0;
  const conversationIndexes = conversationsTable.globalIndexes?.length ?? 0;
  const writeUnits =
    a.limitWritesPerRequest +
    Object.values(a.auditItemBytes).reduce((sum, bytes) => sum + wru(bytes), 0) * (1 + auditIndexes) +
    wru(turnItemBytes()) * (1 + conversationIndexes) +
    wru(a.headerItemBytes) * (1 + conversationIndexes);
  const readUnits = a.continuingShare * (rru(a.headerItemBytes) + rru(a.priorTurns * turnItemBytes()));
  const kmsRequests = a.kmsRequestsPerRequest;
  return { writeUnits, readUnits, kmsRequests };
}

/** One component of the variable cost. */
export interface CostComponent {
  readonly service: string;
  readonly detail: string;
  /** USD per chat request. */
  readonly perRequest: number;
}

/** Text units the guardrail evaluates per request (input side, output side). */
export function guardrailTextUnits(): { input: number; output: number } {
  const a = ASSUMPTIONS;
  const history = a.guardrailEvaluatesHistory
    ? a.continuingShare * a.priorTurns * (a.messageChars + a.replyChars)
    : 0;
  return { input: Math.ceil((a.messageChars + history) / 1000), output: Math.ceil(a.replyChars / 1000) };
}

/** Variable cost components of one chat request at `monthlyRequests` (batching depends on rate). */
export function requestComponents(facts: UsageFacts, monthlyRequests: number): CostComponent[] {
  const a = ASSUMPTIONS;
  const units = requestUnits();
  const memoryGb = (facts.chatFunction?.memoryMb ?? a.defaultChatMemoryMb) / 1024;
  const tracing = facts.chatFunction?.tracing ?? true;
  const out: CostComponent[] = [
    {
      service: 'Lambda',
      detail: `chat ${memoryGb * 1024} MB arm64 x ${a.chatDurationMs} ms + invocation`,
      perRequest:
        memoryGb * (a.chatDurationMs / 1000) * PRICES.lambdaArmGbSecond.usd +
        PRICES.lambdaRequestsMillion.usd / 1e6,
    },
    {
      service: 'DynamoDB',
      detail: `${units.writeUnits} WRU + ${units.readUnits.toFixed(1)} RRU`,
      perRequest:
        (units.writeUnits * PRICES.ddbWriteMillion.usd + units.readUnits * PRICES.ddbReadMillion.usd) / 1e6,
    },
    {
      service: 'KMS',
      detail: `${units.kmsRequests.toFixed(1)} request (one data key per conversation)`,
      perRequest: (units.kmsRequests * PRICES.kmsRequests.usd) / 10_000,
    },
  ];
  const lambdaLogGb = a.lambdaLogBytesPerRequest / GB;
  out.push({
    service: 'CloudWatch Logs',
    detail: `${a.lambdaLogBytesPerRequest} B function logs${facts.logDataProtection ? ', scanned by data protection' : ''}`,
    perRequest:
      lambdaLogGb * PRICES.logsIngestionGb.usd +
      (facts.logDataProtection ? lambdaLogGb * PRICES.logsDataProtectionGb.usd : 0),
  });
  if (tracing)
    out.push({ service: 'X-Ray', detail: '1 trace', perRequest: PRICES.xrayTracesMillion.usd / 1e6 });
  if (facts.webAcls > 0) {
    out.push({ service: 'WAF', detail: '1 request inspected', perRequest: PRICES.wafRequests.usd / 1e6 });
    if (facts.botControl)
      out.push({
        service: 'WAF',
        detail: 'Bot Control inspection',
        perRequest: PRICES.wafBotControlRequests.usd / 1e6,
      });
    if (facts.wafLogging)
      out.push({
        service: 'CloudWatch Logs',
        detail: `${a.wafLogBytesPerRequest} B WAF log`,
        perRequest: (a.wafLogBytesPerRequest / GB) * PRICES.vendedLogsIngestionGb.usd,
      });
  }
  if (facts.loadBalancers > 0) {
    out.push({
      service: 'ALB',
      detail: 'LCU-hours (largest dimension)',
      perRequest: albLcuHoursPerRequest(facts) * PRICES.albLcuHour.usd,
    });
  }
  if ((facts.restApis ?? 0) > 0) {
    // Upper bound: every chat streams (the chat page does); a whole reply skips API Gateway.
    out.push({
      service: 'API Gateway',
      detail: '1 REST API request (streamed chat)',
      perRequest: PRICES.restApiRequestsMillion.usd / 1e6,
    });
  }
  if (facts.flowLogsToCloudWatch > 0)
    out.push({
      service: 'CloudWatch Logs',
      detail: `${a.flowLogBytesPerRequest} B flow logs`,
      perRequest: (a.flowLogBytesPerRequest / GB) * PRICES.vendedLogsIngestionGb.usd,
    });
  if (facts.interfaceEndpoints > 0)
    out.push({
      service: 'VPC endpoints',
      detail: 'Bedrock and KMS payloads',
      perRequest: (endpointBytesPerRequest() / GB) * PRICES.interfaceEndpointGb.usd,
    });
  if (facts.natGateways > 0)
    out.push({
      service: 'NAT gateway',
      detail: 'none expected: every call goes through endpoints',
      perRequest: 0,
    });
  if (facts.archiverFunction) {
    const archiver = facts.archiverFunction;
    const batch = archiverBatchSize(monthlyRequests, archiver.batchWindowSeconds, archiver.batchSize);
    const perEvent = 1 / batch;
    const events = AUDIT_EVENTS_PER_REQUEST;
    out.push({
      service: 'Audit archive',
      detail: `${batch.toFixed(1)} events per batch (${archiver.batchWindowSeconds} s window): Lambda + S3 requests`,
      perRequest:
        events *
        perEvent *
        ((facts.archiverFunction.memoryMb / 1024) *
          (a.archiverDurationMs / 1000) *
          PRICES.lambdaArmGbSecond.usd +
          PRICES.lambdaRequestsMillion.usd / 1e6 +
          (a.archiverPutsPerBatch * PRICES.s3PutThousand.usd +
            a.archiverGetsPerBatch * PRICES.s3GetThousand.usd) /
            1000),
    });
  }
  return out;
}

/**
 * Audit events per archiver batch at a uniform `monthlyRequests` rate: what arrives within the
 * stream mapping's batching window, at least one, at most its batch size.
 */
export function archiverBatchSize(monthlyRequests: number, windowSeconds: number, batchSize: number): number {
  const eventsPerWindow =
    ((monthlyRequests * AUDIT_EVENTS_PER_REQUEST) / (DAYS_PER_MONTH * 86_400)) * windowSeconds;
  return Math.min(batchSize, Math.max(1, eventsPerWindow));
}

function endpointBytesPerRequest(): number {
  const a = ASSUMPTIONS;
  const { input, output } = tokensPerRequest();
  return (input + output) * a.charsPerToken + a.endpointOverheadBytes;
}

/** LCU-hours per request: the largest of the per-request dimensions (uniform traffic). */
export function albLcuHoursPerRequest(facts: UsageFacts): number {
  const a = ASSUMPTIONS;
  const bytes = a.messageChars + a.replyChars + 2 * a.httpOverheadBytes;
  const processed = bytes / (0.4 * GB); // 0.4 GB per LCU-hour for Lambda targets
  const connections = a.newConnectionsPerRequest / (25 * 3600);
  const billedRules = Math.max(0, facts.listenerRules - 10);
  const rules = billedRules / (1000 * 3600);
  return Math.max(processed, connections, rules);
}

/** Tokens per request (average over new and continuing conversations). */
export function tokensPerRequest(): { input: number; output: number } {
  const a = ASSUMPTIONS;
  const history = (a.continuingShare * a.priorTurns * (a.messageChars + a.replyChars)) / a.charsPerToken;
  return {
    input: Math.round(a.systemPromptTokens + history + a.messageChars / a.charsPerToken),
    output: Math.round(a.replyChars / a.charsPerToken),
  };
}

/** Guardrail cost per request from the policies it bills. */
export function guardrailPerRequest(facts: UsageFacts): { perRequest: number; fromTemplate: boolean } {
  const policies = facts.guardrail ?? ASSUMPTIONS.designGuardrail;
  const { input, output } = guardrailTextUnits();
  const perThousandUnits =
    (policies.content ? PRICES.guardrailContentThousandUnits.usd : 0) +
    (policies.topics ? PRICES.guardrailTopicsThousandUnits.usd : 0) +
    (policies.pii ? PRICES.guardrailPiiThousandUnits.usd : 0) +
    (policies.grounding ? PRICES.guardrailGroundingThousandUnits.usd : 0);
  return {
    perRequest: ((input + output) * perThousandUnits) / 1000,
    fromTemplate: facts.guardrail !== undefined,
  };
}

/** Token cost per request of every allow-listed model with a price. */
export function tokenCostPerRequest(): Array<{ modelId: string; perRequest: number }> {
  const { input, output } = tokensPerRequest();
  return Object.entries(MODEL_PRICES).map(([modelId, p]) => ({
    modelId,
    perRequest: (input * p.inputPerMillion + output * p.outputPerMillion) / 1e6,
  }));
}

/** Retention (days) of the data a request leaves behind, from the environment's config. */
export interface Retention {
  readonly conversationDays: number;
  readonly auditTableDays: number;
  readonly archiveDays: number;
  readonly logDays: number;
}

/**
 * Steady-state monthly cost of the data one request leaves behind, per request: what it
 * stores times how long it stays (once the retention window is full, each month's requests
 * replace the expiring ones, so this is the monthly storage bill per monthly request).
 */
export function retainedDataComponents(inv: Inventory, retention: Retention): CostComponent[] {
  const a = ASSUMPTIONS;
  const facts = inv.facts;
  const months = (days: number) => days / DAYS_PER_MONTH;
  const gbMonths = (bytes: number, days: number) => (bytes / GB) * months(days);
  const table = (pattern: string) =>
    Object.entries(facts.tables).find(([id]) => id.includes(pattern)) as
      | [string, { pitr: boolean; gsis: number }]
      | undefined;
  const conversations = table(conversationsTable.id);
  const audit = table(auditTable.id);
  const conversationBytes = turnItemBytes() + (1 - a.continuingShare) * a.headerItemBytes;
  const auditBytes = auditBytesPerRequest() * (1 + (audit?.[1].gsis ?? 0));
  const out: CostComponent[] = [];
  const tableParts: Array<[string, [string, { pitr: boolean; gsis: number }] | undefined, number, number]> = [
    ['conversations', conversations, conversationBytes, retention.conversationDays],
    ['audit', audit, auditBytes, retention.auditTableDays],
  ];
  for (const [name, entry, bytes, days] of tableParts) {
    if (!entry) continue;
    const gbm = gbMonths(bytes, days);
    out.push({
      service: 'DynamoDB storage',
      detail: `${name} table, ${days} days`,
      perRequest: gbm * PRICES.ddbStorageGb.usd,
    });
    if (entry[1].pitr)
      out.push({ service: 'DynamoDB PITR', detail: `${name} table`, perRequest: gbm * PRICES.ddbPitrGb.usd });
    if (facts.backup?.selected.includes(entry[0]))
      out.push({
        service: 'AWS Backup',
        detail: `${name} table, ${facts.backup.retainedCopies} full copies kept`,
        perRequest: gbm * facts.backup.retainedCopies * PRICES.backupDynamoDbGb.usd,
      });
  }
  if (facts.archiverFunction) {
    const gbm = gbMonths(auditBytesPerRequest(), retention.archiveDays);
    out.push({
      service: 'S3',
      detail: `audit archive, ${retention.archiveDays} days`,
      perRequest: gbm * PRICES.s3StandardGb.usd,
    });
    const bucketBackedUp = facts.backup?.selected.some((id) => /Archive/.test(id)) ?? false;
    if (bucketBackedUp)
      out.push({
        service: 'AWS Backup',
        detail: 'audit archive bucket (incremental)',
        perRequest: gbm * PRICES.backupS3Gb.usd,
      });
  }
  const logBytes =
    a.lambdaLogBytesPerRequest +
    (facts.webAcls > 0 && facts.wafLogging ? a.wafLogBytesPerRequest : 0) +
    (facts.flowLogsToCloudWatch > 0 ? a.flowLogBytesPerRequest : 0);
  out.push({
    service: 'CloudWatch Logs storage',
    detail: `${retention.logDays} days, compressed`,
    perRequest: gbMonths(logBytes * a.logCompressionRatio, retention.logDays) * PRICES.logsStorageGb.usd,
  });
  return out;
}

/** Monthly Cognito MAU charge for `monthlyRequests`. */
export function cognitoMonthly(facts: UsageFacts, monthlyRequests: number): number {
  if (!facts.cognitoTier || monthlyRequests === 0) return 0;
  const users = Math.ceil(monthlyRequests / ASSUMPTIONS.requestsPerMonthlyUser);
  if (facts.cognitoTier === 'PLUS') return users * PRICES.cognitoPlusMau.usd;
  // Essentials and Lite bill the users above 10,000 (their MAU allowance is part of the plan).
  const billed = Math.max(0, users - 10_000);
  return (
    billed * (facts.cognitoTier === 'LITE' ? PRICES.cognitoLiteMau.usd : PRICES.cognitoEssentialsMau.usd)
  );
}

/** Sums per-request cost. */
export function sumPerRequest(components: readonly CostComponent[]): number {
  return components.reduce((s, c) => s + c.perRequest, 0);
}
