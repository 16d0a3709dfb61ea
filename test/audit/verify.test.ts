import { appendFile, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { archiveLocalJsonl } from '../../lambda/audit/local-archive';
import { createFileAuditWriter, LOCAL_AUDIT_FILE } from '../../lambda/audit/writer';
import { type BreakKind, main, verifyArchive } from '../../scripts/audit-verify';
import { manyEvents, tempDir } from './fixtures';

/** Local mode end to end: file writer -> JSONL -> local archiver (5 batches of 5 events over two hours). */
async function localArchive(): Promise<{ dir: string; batches: string[]; input: string }> {
  const work = await tempDir('verify');
  const writer = createFileAuditWriter(join(work, 'audit'));
  // 25 events, 5 minutes apart, so the archive spans two hours and seals one manifest.
  const events = manyEvents(25, '2026-11-23T09:20:00.000Z').map((event, i) => ({
    ...event,
    timestamp: new Date(Date.parse('2026-11-23T09:20:00.000Z') + i * 300_000).toISOString(),
  }));
  for (const event of events) await writer.write(event);
  const input = join(work, 'audit', LOCAL_AUDIT_FILE);
  const dir = join(work, 'archive');
  await archiveLocalJsonl(input, dir, { maxBatchRecords: 5 });
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.jsonl.gz')).sort();
  const batches = files.sort((a, b) =>
    a.slice(a.lastIndexOf('/')).localeCompare(b.slice(b.lastIndexOf('/'))),
  );
  return { dir, batches, input };
}

async function editBatch(path: string, edit: (lines: string[]) => string[]): Promise<void> {
  const lines = gunzipSync(await readFile(path))
    .toString('utf8')
    .trimEnd()
    .split('\n');
  await writeFile(path, gzipSync(`${edit(lines).join('\n')}\n`));
}

describe('verifyArchive', () => {
  it('passes an untouched archive and reports batches, events and the time span', async () => {
    const { dir, batches } = await localArchive();

    const report = await verifyArchive(dir);

    expect(batches).toHaveLength(5);
    expect(report).toMatchObject({
      ok: true,
      batches: 5,
      events: 25,
      firstTime: '2026-11-23T09:20:00.000Z',
      lastTime: '2026-11-23T11:20:00.000Z',
      breaks: [],
      tamper: [],
    });
  });

  const tamperings: [
    string,
    BreakKind,
    (dir: string, batches: string[]) => Promise<void>,
    (batches: string[]) => string,
    number | undefined,
  ][] = [
    [
      'a flipped byte in an event line',
      'altered-line',
      (dir, b) =>
        editBatch(join(dir, b[1]!), (lines) =>
          lines.map((l, i) => (i === 2 ? l.replace('"success"', '"failure"') : l)),
        ),
      (b) => b[1]!,
      3,
    ],
    [
      'a dropped line',
      'missing-line',
      (dir, b) => editBatch(join(dir, b[2]!), (lines) => lines.filter((_, i) => i !== 3)),
      (b) => b[2]!,
      4,
    ],
    [
      'an inserted (forged) line',
      'extra-line',
      (dir, b) =>
        editBatch(join(dir, b[2]!), (lines) => [
          ...lines.slice(0, 2),
          lines[1]!.replace('req-', 'rex-'),
          ...lines.slice(2),
        ]),
      (b) => b[2]!,
      3,
    ],
    ['a dropped batch', 'missing-batch', (dir, b) => rm(join(dir, b[2]!)), (b) => b[3]!, undefined],
    [
      'two swapped batches',
      'reordered-batch',
      async (dir, b) => {
        await rename(join(dir, b[1]!), join(dir, 'tmp'));
        await rename(join(dir, b[2]!), join(dir, b[1]!));
        await rename(join(dir, 'tmp'), join(dir, b[2]!));
      },
      (b) => b[1]!,
      1,
    ],
    [
      'a rewritten header (prevHash edited)',
      'altered-header',
      (dir, b) =>
        editBatch(join(dir, b[3]!), (lines) => [
          lines[0]!.replace(/"prevHash":"[0-9a-f]/, '"prevHash":"f'),
          ...lines.slice(1),
        ]),
      (b) => b[3]!,
      1,
    ],
    [
      'a dropped last batch (truncation)',
      'missing-batch',
      (dir, b) => rm(join(dir, b[4]!)),
      () => 'chain=local/HEAD.json',
      undefined,
    ],
    [
      'a corrupted gzip',
      'unreadable-batch',
      (dir, b) => writeFile(join(dir, b[0]!), 'not gzip'),
      (b) => b[0]!,
      undefined,
    ],
  ];

  it.each(tamperings)('detects %s as %s with its location', async (_name, kind, tamper, file, line) => {
    // Prepare
    const { dir, batches } = await localArchive();
    await tamper(dir, batches);

    // Act
    const report = await verifyArchive(dir);

    // Assess
    expect(report.ok).toBe(false);
    expect(report.breaks).toContainEqual(
      expect.objectContaining({ kind, file: file(batches), ...(line !== undefined && { line }) }),
    );
  });

  it('catches the first batch dropped through its sealed hour manifest, even when a partial export is allowed', async () => {
    const { dir, batches } = await localArchive();
    const manifest = `${batches[0]!.slice(0, batches[0]!.lastIndexOf('/'))}/manifest.json`;
    await rm(join(dir, batches[0]!));

    const report = await verifyArchive(dir, { allowPartial: true });

    expect(report.breaks).toEqual([expect.objectContaining({ kind: 'missing-batch', file: manifest })]);
  });

  it('continues the chain on a re-run without archiving a line twice', async () => {
    const { dir, input } = await localArchive();
    const more = manyEvents(3, '2026-11-23T12:00:00.000Z');
    await appendFile(input, more.map((event) => `${JSON.stringify(event)}\n`).join(''));

    const rerun = await archiveLocalJsonl(input, dir, { maxBatchRecords: 5 });
    const report = await verifyArchive(dir);

    expect(rerun.newRecords).toBe(3);
    expect(report).toMatchObject({ ok: true, batches: 6, events: 28, duplicateEvents: 0 });
  });

  it('archives a forged line in the local log as tampering (chain intact, exit code 3)', async () => {
    const { dir, input } = await localArchive();
    await appendFile(input, '{"type":"CHAT_REQUEST","note":"hand-written"}\n');
    await archiveLocalJsonl(input, dir);
    const printed: string[] = [];

    const code = await main([dir], (text) => printed.push(text));

    expect(code).toBe(3);
    expect(printed.join('\n')).toMatch(/TAMPERING RECORDED LINE \(line-not-a-valid-audit-event\)/);
  });
});

describe('audit:verify CLI', () => {
  it('exits 0 with a human summary on an intact archive', async () => {
    const { dir } = await localArchive();
    const printed: string[] = [];

    expect(await main([dir], (text) => printed.push(text))).toBe(0);
    expect(printed.join('\n')).toMatch(/batches: 5 {2}events: 25 .*\nRESULT: OK/s);
  });

  it('exits 1 and prints machine-readable JSON on a break', async () => {
    const { dir, batches } = await localArchive();
    await editBatch(join(dir, batches[1]!), (lines) =>
      lines.map((l, i) => (i === 2 ? l.replace('req-', 'rEq-') : l)),
    );
    const printed: string[] = [];

    const code = await main(['--json', dir], (text) => printed.push(text));

    expect(code).toBe(1);
    const report = JSON.parse(printed.join('\n'));
    expect(report.breaks[0]).toMatchObject({ kind: 'altered-line', file: batches[1], line: 3 });
  });

  it.each([[[]], [['--bogus', '/tmp']], [['a', 'b']], [['/definitely/not/here']]])(
    'exits 2 on usage error %j',
    async (argv) => {
      expect(await main(argv, () => undefined)).toBe(2);
    },
  );
});
