/**
 * Archive format and hash chain shared by the S3 archiver, the local archiver and the verifier.
 *
 * A batch is a gzipped JSON Lines file: line 1 is the header, then one line per record. The
 * header holds the SHA-256 of every record line, the previous batch's hash (`prevHash`) and its
 * own `hash` = SHA-256 of the header without `hash`. Altering, dropping or reordering a line
 * breaks a line hash; dropping, swapping or altering a batch breaks `seq` or `prevHash`.
 *
 * Layout (one chain per stream; the stream's records are archived by a single writer):
 *   chain=<id>/yyyy/mm/dd/hh/<seq 12 digits>-<yyyymmddThhmmssZ>.jsonl.gz   batches
 *   chain=<id>/yyyy/mm/dd/hh/manifest.json                                 sealed hour: keys + hashes
 *   chain=<id>/HEAD.json                                                    chain head
 *
 * The head is the commit point, written with a compare-and-swap (If-Match on its ETag, or
 * If-None-Match for the first). A batch key depends only on the head and the first record, and
 * batches are written with If-None-Match, so a retry after a crash between "batch written" and
 * "head moved" finds its own batch at the same key and adopts it instead of forking the chain.
 * The head also lists the record ids of its last batch, so a redelivered batch is not archived twice.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

/** SHA-256 hex of a line or header (kept here so the verifier needs nothing but this module). */
export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `prevHash` of the first batch of a chain. */
export const GENESIS_HASH = '0'.repeat(64);
/** Format tag of a batch header. */
export const BATCH_FORMAT = 'omnichat-audit-batch/1' as const;
/** Largest number of records in one batch. */
export const MAX_BATCH_RECORDS = 500;

/** One record line of a batch. */
export type ArchiveLine =
  | {
      readonly kind: 'event';
      readonly recordId: string;
      readonly time: string;
      readonly keys: Readonly<Record<string, string>>;
      readonly event: unknown;
    }
  | {
      readonly kind: 'tamper';
      readonly recordId: string;
      readonly time: string;
      /** What happened: a MODIFY or REMOVE on the append-only table, or an INSERT that is not a valid event. */
      readonly eventName: string;
      readonly reason: string;
      readonly keys: Readonly<Record<string, string>>;
      readonly oldImage?: unknown;
      readonly newImage?: unknown;
      readonly userIdentity?: unknown;
    };

/** A record ready to be chained; `recordId` is unique per source record (stream eventID, line number). */
export interface ChainRecord {
  readonly recordId: string;
  readonly timeMs: number;
  readonly line: ArchiveLine;
}

/** First line of a batch. */
export interface BatchHeader {
  readonly kind: 'header';
  readonly format: typeof BATCH_FORMAT;
  readonly chain: string;
  readonly seq: number;
  readonly prevHash: string;
  readonly count: number;
  readonly firstTime: string;
  readonly lastTime: string;
  readonly lineHashes: readonly string[];
  readonly hash: string;
}

/** One entry of a head's open hour or of a manifest. */
export interface BatchRef {
  readonly key: string;
  readonly seq: number;
  readonly hash: string;
  readonly count: number;
}

/** The chain head (`HEAD.json`). */
export interface ChainHead {
  readonly chain: string;
  readonly seq: number;
  readonly hash: string;
  readonly key?: string;
  /** Record ids of the last batch, to drop redelivered records. */
  readonly lastRecordIds: readonly string[];
  /** Hour (yyyy/mm/dd/hh) whose manifest is not sealed yet, and its batches. */
  readonly openHour?: string;
  readonly openHourBatches: readonly BatchRef[];
  /** Time used in the last batch key; keys never go back in time, so sealed hours stay sealed. */
  readonly keyTimeMs?: number;
}

/** Sealed list of one hour's batches. */
export interface HourManifest {
  readonly kind: 'manifest';
  readonly chain: string;
  readonly hour: string;
  readonly batches: readonly BatchRef[];
  readonly hash: string;
}

/** Storage the chain is written to: S3 in AWS, a directory locally. */
export interface ArchiveSink {
  get(key: string): Promise<{ body: Buffer; etag: string } | undefined>;
  /** Writes only if the key does not exist yet. */
  putIfAbsent(key: string, body: Buffer, contentType: string): Promise<'created' | 'exists'>;
  /** Compare-and-swap of the head (`expectedEtag` undefined: must not exist); resolves to the new ETag. */
  putHead(key: string, body: Buffer, expectedEtag: string | undefined): Promise<string>;
}

/** Someone else moved the head, or a batch key holds something that is not ours. */
export class ChainConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainConflictError';
  }
}

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

/** Chain ids are path segments: keep them to a safe alphabet. */
export function chainIdFrom(raw: string): string {
  return raw.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 128) || 'default';
}

/** `yyyy/mm/dd/hh` of a time. */
export function hourOf(timeMs: number): string {
  const iso = new Date(timeMs).toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}`;
}

/** Object key of a batch. */
export function batchKey(chain: string, seq: number, firstTimeMs: number): string {
  const compact = `${new Date(firstTimeMs).toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
  return `chain=${chain}/${hourOf(firstTimeMs)}/${pad(seq, 12)}-${compact}.jsonl.gz`;
}

/** Object key of a chain's head. */
export const headKey = (chain: string): string => `chain=${chain}/HEAD.json`;
/** Object key of an hour's manifest. */
export const manifestKey = (chain: string, hour: string): string => `chain=${chain}/${hour}/manifest.json`;

/** Hash of a header or manifest: SHA-256 of its JSON without the `hash` field. */
export function hashWithoutField<T extends { hash: string }>(value: T): string {
  const { hash: _omitted, ...rest } = value;
  return sha256Hex(JSON.stringify(rest));
}

/** Serializes and gzips a batch; returns the body and its header. */
export function encodeBatch(
  chain: string,
  seq: number,
  prevHash: string,
  records: readonly ChainRecord[],
): { body: Buffer; header: BatchHeader } {
  const first = records[0];
  const last = records.at(-1);
  if (first === undefined || last === undefined) throw new Error('A batch needs at least one record.');
  const lines = records.map((record) => JSON.stringify(record.line));
  const unsigned = {
    kind: 'header' as const,
    format: BATCH_FORMAT as typeof BATCH_FORMAT,
    chain,
    seq,
    prevHash,
    count: lines.length,
    firstTime: new Date(first.timeMs).toISOString(),
    lastTime: new Date(last.timeMs).toISOString(),
    lineHashes: lines.map((line) => sha256Hex(line)),
    hash: '',
  };
  const header: BatchHeader = { ...unsigned, hash: hashWithoutField(unsigned) };
  const text = `${[JSON.stringify(header), ...lines].join('\n')}\n`;
  return { body: gzipSync(text), header };
}

/** Gunzips a batch into its text lines (without the trailing empty line). */
export function batchLines(body: Buffer): string[] {
  const lines = gunzipSync(body).toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function emptyHead(chain: string): ChainHead {
  return { chain, seq: 0, hash: GENESIS_HASH, lastRecordIds: [], openHourBatches: [] };
}

async function readHead(
  sink: ArchiveSink,
  chain: string,
): Promise<{ head: ChainHead; etag: string | undefined }> {
  const object = await sink.get(headKey(chain));
  if (object === undefined) return { head: emptyHead(chain), etag: undefined };
  const head = JSON.parse(object.body.toString('utf8')) as ChainHead;
  if (head.chain !== chain || !Number.isInteger(head.seq))
    throw new ChainConflictError(`Head of ${chain} is corrupt.`);
  return { head, etag: object.etag };
}

/** Outcome of {@link appendToChain}: records committed in order, and the error that stopped it, if any. */
export interface AppendResult {
  readonly committedRecords: number;
  readonly batchKeys: readonly string[];
  readonly error?: unknown;
}

/**
 * Appends records (in source order) to a chain, batch by batch. Stops at the first failure and
 * reports how many leading records are committed, so a stream handler can ask for a retry from
 * exactly the first uncommitted record.
 */
export async function appendToChain(
  sink: ArchiveSink,
  chainId: string,
  records: readonly ChainRecord[],
  options: { readonly maxBatchRecords?: number } = {},
): Promise<AppendResult> {
  const chain = chainIdFrom(chainId);
  const maxBatch = options.maxBatchRecords ?? MAX_BATCH_RECORDS;
  const batchKeys: string[] = [];
  let committed = 0;
  try {
    let { head, etag } = await readHead(sink, chain);
    const alreadyInHead = new Set(head.lastRecordIds);
    // Records of the last committed batch come back when a retry follows a lost response.
    while (committed < records.length && alreadyInHead.has(records[committed]?.recordId ?? '')) committed++;
    while (committed < records.length) {
      const batch = records.slice(committed, committed + maxBatch);
      const first = batch[0]!;
      const seq = head.seq + 1;
      // Shards interleave in one chain, so a batch may start slightly before the previous one:
      // clamp its key time so a sealed hour never receives another batch.
      const keyTimeMs = Math.max(first.timeMs, head.keyTimeMs ?? 0);
      const key = batchKey(chain, seq, keyTimeMs);
      const encoded = encodeBatch(chain, seq, head.hash, batch);
      let header = encoded.header;
      let recordIds = batch.map((record) => record.recordId);
      if ((await sink.putIfAbsent(key, encoded.body, 'application/gzip')) === 'exists') {
        // Our own earlier attempt wrote this batch but did not move the head: adopt it.
        const existing = await sink.get(key);
        const lines = existing === undefined ? [] : batchLines(existing.body);
        const existingHeader = JSON.parse(lines[0] ?? '{}') as BatchHeader;
        if (existingHeader.seq !== seq || existingHeader.prevHash !== head.hash) {
          throw new ChainConflictError(`${key} exists and does not follow the head of ${chain}.`);
        }
        header = existingHeader;
        recordIds = lines.slice(1).map((line) => (JSON.parse(line) as ArchiveLine).recordId);
      }
      const hour = key.slice(`chain=${chain}/`.length, `chain=${chain}/`.length + 13);
      let openHourBatches = head.openHourBatches;
      if (head.openHour !== undefined && head.openHour !== hour && openHourBatches.length > 0) {
        // A new hour begins: seal the previous one before the head forgets its batch list.
        const unsigned = {
          kind: 'manifest' as const,
          chain,
          hour: head.openHour,
          batches: openHourBatches,
          hash: '',
        };
        const manifest: HourManifest = { ...unsigned, hash: hashWithoutField(unsigned) };
        await sink.putIfAbsent(
          manifestKey(chain, head.openHour),
          Buffer.from(JSON.stringify(manifest)),
          'application/json',
        );
        openHourBatches = [];
      }
      const next: ChainHead = {
        chain,
        seq,
        hash: header.hash,
        key,
        lastRecordIds: recordIds,
        keyTimeMs,
        openHour: hour,
        openHourBatches: [...openHourBatches, { key, seq, hash: header.hash, count: header.count }],
      };
      etag = await sink.putHead(headKey(chain), Buffer.from(JSON.stringify(next)), etag);
      head = next;
      batchKeys.push(key);
      const committedIds = new Set(recordIds);
      while (committed < records.length && committedIds.has(records[committed]?.recordId ?? '')) committed++;
    }
    return { committedRecords: committed, batchKeys };
  } catch (error) {
    return { committedRecords: committed, batchKeys, error };
  }
}
