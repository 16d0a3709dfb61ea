/**
 * Local mode's archive: the same chain and key layout as S3, written to a directory, so
 * `npm run audit:verify -- DIR` checks local and AWS archives the same way.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import {
  type ArchiveSink,
  appendToChain,
  ChainConflictError,
  type ChainHead,
  type ChainRecord,
  chainIdFrom,
  headKey,
} from './chain';
import { parseAuditEvent } from './event';

function etagOf(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

async function writeDurably(path: string, body: Buffer, flag: 'wx' | 'w'): Promise<void> {
  const handle = await open(path, flag, 0o600);
  try {
    await handle.writeFile(body);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Directory adapter of the archive sink: create-only batch files, atomic head replacement. */
export function createDirectoryArchiveSink(root: string): ArchiveSink {
  const base = resolve(root);
  const pathOf = (key: string): string => {
    const path = resolve(base, key);
    if (!path.startsWith(base + sep)) throw new Error(`Key ${key} escapes the archive directory.`);
    return path;
  };
  const get = async (key: string) => {
    try {
      const body = await readFile(pathOf(key));
      return { body, etag: etagOf(body) };
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    }
  };
  return {
    get,
    async putIfAbsent(key, body) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      try {
        await writeDurably(path, body, 'wx');
        return 'created';
      } catch (error) {
        if (isErrno(error, 'EEXIST')) return 'exists';
        throw error;
      }
    },
    async putHead(key, body, expectedEtag) {
      const current = await get(key);
      if (current?.etag !== expectedEtag) throw new ChainConflictError(`${key} moved under us.`);
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const temporary = `${path}.${process.pid}.tmp`;
      await writeDurably(temporary, body, 'w');
      // rename is atomic: a reader sees the old head or the new one, never half of one.
      await rename(temporary, path);
      return etagOf(body);
    },
  };
}

const LINE_ID = /^line-(\d+)$/;

/** Result of {@link archiveLocalJsonl}. */
export interface LocalArchiveResult {
  readonly newRecords: number;
  readonly batchKeys: readonly string[];
}

/**
 * Archives the local writer's JSONL (one event per line) into `outDir`. Re-runs continue after
 * the last archived line; a line that is not a valid event is archived as tampering.
 */
export async function archiveLocalJsonl(
  inputJsonl: string,
  outDir: string,
  options: { readonly chainId?: string; readonly maxBatchRecords?: number } = {},
): Promise<LocalArchiveResult> {
  const chain = chainIdFrom(options.chainId ?? 'local');
  const sink = createDirectoryArchiveSink(outDir);
  const headObject = await sink.get(headKey(chain));
  let archivedLines = 0;
  if (headObject !== undefined) {
    const head = JSON.parse(headObject.body.toString('utf8')) as ChainHead;
    for (const id of head.lastRecordIds)
      archivedLines = Math.max(archivedLines, Number(LINE_ID.exec(id)?.[1] ?? 0));
  }
  const text = await readFile(inputJsonl, 'utf8');
  const records: ChainRecord[] = [];
  text.split('\n').forEach((raw, index) => {
    const lineNumber = index + 1;
    if (raw.trim() === '' || lineNumber <= archivedLines) return;
    const recordId = `line-${lineNumber}`;
    try {
      const event = parseAuditEvent(JSON.parse(raw));
      const timeMs = Date.parse(event.timestamp);
      const time = event.timestamp;
      records.push({
        recordId,
        timeMs,
        line: { kind: 'event', recordId, time, keys: { eventId: event.eventId }, event },
      });
    } catch {
      const timeMs = Date.now();
      records.push({
        recordId,
        timeMs,
        line: {
          kind: 'tamper',
          recordId,
          time: new Date(timeMs).toISOString(),
          eventName: 'LINE',
          reason: 'line-not-a-valid-audit-event',
          keys: { line: String(lineNumber) },
          newImage: raw.slice(0, 4096),
        },
      });
    }
  });
  const result = await appendToChain(sink, chain, records, { maxBatchRecords: options.maxBatchRecords });
  if (result.error !== undefined) throw result.error;
  return { newRecords: result.committedRecords, batchKeys: result.batchKeys };
}
