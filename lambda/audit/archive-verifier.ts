/**
 * The audit archive verifier: checks an archive downloaded from S3 (`aws s3 sync`) or written by
 * the local archiver against the chain format in ./chain.ts: every batch's header hash and line
 * hashes, the `seq`/`prevHash` chain, the chain head and the hourly manifests. It never throws
 * on a damaged archive; it reports every break with its file and line. The CLI is
 * `npm run audit:verify` (scripts/audit-verify.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  type ArchiveLine,
  BATCH_FORMAT,
  type BatchHeader,
  batchLines,
  type ChainHead,
  GENESIS_HASH,
  type HourManifest,
  hashWithoutField,
  sha256Hex,
} from './chain';

/** Kinds of chain breaks. */
export type BreakKind =
  | 'unreadable-batch'
  | 'altered-header'
  | 'altered-line'
  | 'missing-line'
  | 'extra-line'
  | 'reordered-batch'
  | 'missing-batch'
  | 'duplicate-batch'
  | 'broken-link'
  | 'head-mismatch'
  | 'manifest-mismatch';

/** One break, located by file (relative to DIR) and line (1 = header). */
export interface ChainBreak {
  readonly kind: BreakKind;
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

/** A tamper record found in the archive (the table was modified; the archive itself is intact). */
export interface TamperFinding {
  readonly file: string;
  readonly line: number;
  readonly eventName: string;
  readonly reason: string;
  readonly keys: Readonly<Record<string, string>>;
}

/** Per-chain summary. */
export interface ChainSummary {
  readonly chain: string;
  readonly batches: number;
  readonly events: number;
  readonly firstTime?: string;
  readonly lastTime?: string;
}

/** What {@link verifyArchive} found. */
export interface VerifyReport {
  readonly ok: boolean;
  readonly dir: string;
  readonly batches: number;
  readonly events: number;
  readonly duplicateEvents: number;
  readonly firstTime?: string;
  readonly lastTime?: string;
  readonly chains: readonly ChainSummary[];
  readonly breaks: readonly ChainBreak[];
  readonly tamper: readonly TamperFinding[];
}

const BATCH_FILE = /^(.*?chain=([^/]+))\/(\d{4}\/\d{2}\/\d{2}\/\d{2})\/(\d{12})-\d{8}T\d{6}Z\.jsonl\.gz$/;
const MANIFEST_FILE = /^(.*?chain=[^/]+)\/(\d{4}\/\d{2}\/\d{2}\/\d{2})\/manifest\.json$/;
const HEAD_FILE = /^(.*?chain=[^/]+)\/HEAD\.json$/;

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

interface ParsedBatch {
  readonly file: string;
  readonly fileSeq: number;
  readonly header?: BatchHeader;
  readonly events: number;
}

/** Checks one batch file on its own: gzip, header hash, line hashes. */
function checkBatch(
  file: string,
  body: Buffer,
  breaks: ChainBreak[],
  tamper: TamperFinding[],
  eventIds: Map<string, number>,
): { header?: BatchHeader; events: number } {
  let lines: string[];
  try {
    lines = batchLines(body);
  } catch {
    breaks.push({ kind: 'unreadable-batch', file, message: 'not a readable gzip file' });
    return { events: 0 };
  }
  let header: BatchHeader;
  try {
    header = JSON.parse(lines[0] ?? '') as BatchHeader;
  } catch {
    breaks.push({ kind: 'altered-header', file, line: 1, message: 'header is not valid JSON' });
    return { events: 0 };
  }
  if (
    header.kind !== 'header' ||
    header.format !== BATCH_FORMAT ||
    !Array.isArray(header.lineHashes) ||
    hashWithoutField(header) !== header.hash
  ) {
    breaks.push({ kind: 'altered-header', file, line: 1, message: 'header hash does not match its content' });
    return { events: 0 };
  }
  const body_ = lines.slice(1);
  const expected = header.lineHashes;
  let events = 0;
  // Walk both lists; a hash found one step ahead means lines were deleted (or inserted) there.
  let i = 0;
  let j = 0;
  while (i < body_.length || j < expected.length) {
    const line = body_[i];
    const lineNumber = i + 2;
    if (line === undefined) {
      breaks.push({
        kind: 'missing-line',
        file,
        line: lineNumber,
        message: `${expected.length - j} record line(s) missing at the end (header lists ${expected.length})`,
      });
      break;
    }
    const hash = sha256Hex(line);
    if (j >= expected.length) {
      breaks.push({ kind: 'extra-line', file, line: lineNumber, message: 'line not listed in the header' });
      i++;
      continue;
    }
    if (hash !== expected[j]) {
      const later = expected.indexOf(hash, j + 1);
      if (later !== -1) {
        breaks.push({
          kind: 'missing-line',
          file,
          line: lineNumber,
          message: `${later - j} record line(s) deleted before this line`,
        });
        j = later;
      } else if (
        body_.length > expected.length &&
        body_[i + 1] !== undefined &&
        sha256Hex(body_[i + 1]!) === expected[j]
      ) {
        breaks.push({ kind: 'extra-line', file, line: lineNumber, message: 'line not listed in the header' });
        i++;
        continue;
      } else {
        breaks.push({
          kind: 'altered-line',
          file,
          line: lineNumber,
          message: 'line does not match its hash in the header',
        });
        i++;
        j++;
        continue;
      }
    }
    // The line is authentic: count it.
    const record = JSON.parse(line) as ArchiveLine;
    if (record.kind === 'event') {
      events++;
      const eventId = (record.event as { eventId?: string } | null)?.eventId;
      if (eventId !== undefined) eventIds.set(eventId, (eventIds.get(eventId) ?? 0) + 1);
    } else {
      tamper.push({
        file,
        line: lineNumber,
        eventName: record.eventName,
        reason: record.reason,
        keys: record.keys,
      });
    }
    i++;
    j++;
  }
  return { header, events };
}

/** Verifies every chain under `dir`; never throws on a damaged archive, reports it instead. */
export async function verifyArchive(
  dir: string,
  options: { readonly allowPartial?: boolean } = {},
): Promise<VerifyReport> {
  const files = await listFiles(dir);
  const fileSet = new Set(files);
  const breaks: ChainBreak[] = [];
  const tamper: TamperFinding[] = [];
  const eventIds = new Map<string, number>();
  const chains = new Map<string, ParsedBatch[]>();
  const heads = new Map<string, string>();
  const manifests: { file: string; chainDir: string; hour: string }[] = [];
  const hashByFile = new Map<string, string>();

  for (const file of files) {
    const batch = BATCH_FILE.exec(file);
    if (batch !== null) {
      const chainDir = batch[1]!;
      const { header, events } = checkBatch(file, await readFile(join(dir, file)), breaks, tamper, eventIds);
      if (header !== undefined) hashByFile.set(file, header.hash);
      const list = chains.get(chainDir) ?? [];
      list.push({ file, fileSeq: Number(batch[4]), header, events });
      chains.set(chainDir, list);
      continue;
    }
    const manifest = MANIFEST_FILE.exec(file);
    if (manifest !== null) {
      manifests.push({ file, chainDir: manifest[1]!, hour: manifest[2]! });
      continue;
    }
    const head = HEAD_FILE.exec(file);
    if (head !== null) heads.set(head[1]!, file);
  }
  for (const chainDir of heads.keys()) if (!chains.has(chainDir)) chains.set(chainDir, []);

  const summaries: ChainSummary[] = [];
  for (const [chainDir, list] of chains) {
    list.sort((a, b) => a.fileSeq - b.fileSeq || a.file.localeCompare(b.file));
    let previous: ParsedBatch | undefined;
    let firstTime: string | undefined;
    let lastTime: string | undefined;
    let events = 0;
    for (const batch of list) {
      events += batch.events;
      const header = batch.header;
      if (header !== undefined) {
        firstTime ??= header.firstTime;
        lastTime = header.lastTime;
        if (
          header.seq !== batch.fileSeq ||
          `chain=${header.chain}` !== chainDir.slice(chainDir.lastIndexOf('chain='))
        ) {
          breaks.push({
            kind: 'reordered-batch',
            file: batch.file,
            line: 1,
            message: `file holds batch ${header.seq} of chain ${header.chain}, its name says batch ${batch.fileSeq}`,
          });
        }
      }
      const expectedSeq = previous === undefined ? 1 : previous.fileSeq + 1;
      if (previous !== undefined && batch.fileSeq === previous.fileSeq) {
        breaks.push({
          kind: 'duplicate-batch',
          file: batch.file,
          message: `a second batch ${batch.fileSeq}`,
        });
      } else if (batch.fileSeq > expectedSeq && !(previous === undefined && options.allowPartial)) {
        breaks.push({
          kind: 'missing-batch',
          file: batch.file,
          message: `${expectedSeq === batch.fileSeq - 1 ? `batch ${expectedSeq}` : `batches ${expectedSeq}..${batch.fileSeq - 1}`} missing before this one`,
        });
      } else if (header !== undefined && header.seq === batch.fileSeq) {
        const expectedPrev =
          previous === undefined ? (batch.fileSeq === 1 ? GENESIS_HASH : undefined) : previous.header?.hash;
        if (expectedPrev !== undefined && header.prevHash !== expectedPrev) {
          breaks.push({
            kind: 'broken-link',
            file: batch.file,
            line: 1,
            message: `prevHash ${header.prevHash.slice(0, 12)}… does not match the previous batch's hash ${expectedPrev.slice(0, 12)}…`,
          });
        }
      }
      previous = batch;
    }
    const headFile = heads.get(chainDir);
    if (headFile !== undefined) {
      const head = JSON.parse(await readFile(join(dir, headFile), 'utf8')) as ChainHead;
      const last = list.at(-1);
      if (last === undefined || head.seq !== last.fileSeq || head.hash !== last.header?.hash) {
        breaks.push({
          kind: head.seq > (last?.fileSeq ?? 0) ? 'missing-batch' : 'head-mismatch',
          file: headFile,
          message: `head is batch ${head.seq} (${head.hash.slice(0, 12)}…), the archive ends at batch ${last?.fileSeq ?? 0}`,
        });
      }
    }
    summaries.push({
      chain: chainDir,
      batches: list.length,
      events,
      ...(firstTime !== undefined && { firstTime }),
      ...(lastTime !== undefined && { lastTime }),
    });
  }

  for (const { file, chainDir, hour } of manifests) {
    let manifest: HourManifest;
    try {
      manifest = JSON.parse(await readFile(join(dir, file), 'utf8')) as HourManifest;
    } catch {
      breaks.push({ kind: 'manifest-mismatch', file, message: 'manifest is not valid JSON' });
      continue;
    }
    if (hashWithoutField(manifest) !== manifest.hash) {
      breaks.push({ kind: 'manifest-mismatch', file, message: 'manifest hash does not match its content' });
      continue;
    }
    const prefix = chainDir.slice(0, chainDir.lastIndexOf('chain='));
    const listed = new Set<string>();
    for (const entry of manifest.batches) {
      const batchFile = `${prefix}${entry.key}`;
      listed.add(batchFile);
      const actual = hashByFile.get(batchFile);
      if (!fileSet.has(batchFile)) {
        breaks.push({ kind: 'missing-batch', file, message: `listed batch ${entry.key} is missing` });
      } else if (actual !== undefined && actual !== entry.hash) {
        breaks.push({
          kind: 'manifest-mismatch',
          file: batchFile,
          line: 1,
          message: `hash differs from ${file}`,
        });
      }
    }
    for (const batch of chains.get(chainDir) ?? []) {
      if (batch.file.startsWith(`${chainDir}/${hour}/`) && !listed.has(batch.file)) {
        breaks.push({ kind: 'manifest-mismatch', file: batch.file, message: `not listed in ${file}` });
      }
    }
  }

  const times = summaries
    .flatMap((summary) => [summary.firstTime, summary.lastTime])
    .filter((t) => t !== undefined);
  times.sort();
  let duplicateEvents = 0;
  for (const count of eventIds.values()) duplicateEvents += count - 1;
  return {
    ok: breaks.length === 0,
    dir,
    batches: summaries.reduce((sum, summary) => sum + summary.batches, 0),
    events: summaries.reduce((sum, summary) => sum + summary.events, 0),
    duplicateEvents,
    ...(times[0] !== undefined && { firstTime: times[0] }),
    ...(times.at(-1) !== undefined && { lastTime: times.at(-1) }),
    chains: summaries,
    breaks,
    tamper,
  };
}

/** Renders a report for people. */
export function formatReport(report: VerifyReport): string {
  const out = [`audit:verify ${report.dir}`];
  for (const chain of report.chains) {
    out.push(
      `  ${chain.chain}: ${chain.batches} batches, ${chain.events} events, ${chain.firstTime ?? '-'} .. ${chain.lastTime ?? '-'}`,
    );
  }
  out.push(
    `batches: ${report.batches}  events: ${report.events}  first: ${report.firstTime ?? '-'}  last: ${report.lastTime ?? '-'}` +
      (report.duplicateEvents > 0 ? `  re-delivered duplicates: ${report.duplicateEvents}` : ''),
  );
  for (const found of report.breaks) {
    out.push(
      `BREAK ${found.kind} at ${found.file}${found.line === undefined ? '' : `:${found.line}`}: ${found.message}`,
    );
  }
  for (const found of report.tamper) {
    out.push(
      `TAMPERING RECORDED ${found.eventName} (${found.reason}) ${JSON.stringify(found.keys)} at ${found.file}:${found.line}`,
    );
  }
  if (!report.ok) out.push(`RESULT: BROKEN (${report.breaks.length} break(s))`);
  else if (report.tamper.length > 0)
    out.push(`RESULT: chain intact, ${report.tamper.length} tampering record(s) to investigate`);
  else out.push('RESULT: OK (chain intact)');
  return out.join('\n');
}

/** Exit code for a report: 0 intact, 1 broken, 3 intact but tampering recorded. */
export function exitCodeOf(report: VerifyReport): number {
  if (!report.ok) return 1;
  return report.tamper.length > 0 ? 3 : 0;
}
