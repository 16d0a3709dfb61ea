import { describe, expect, it } from 'vitest';

// The module reads its environment at load (fail fast), so give it a valid one before importing.
process.env.AUDIT_ARCHIVE_BUCKET = 'audit-archive-test';
const { readArchiverEnv, handler } = await import('../../lambda/audit/archiver-handler');

describe('archiver handler environment', () => {
  it.each([
    [{ AUDIT_ARCHIVE_BUCKET: 'b' }, { bucket: 'b' }],
    [
      {
        AUDIT_ARCHIVE_BUCKET: 'b',
        AUDIT_OBJECT_LOCK_MODE: 'COMPLIANCE',
        AUDIT_OBJECT_LOCK_DAYS: '365',
        AUDIT_CHAIN_ID: 'prod',
      },
      { bucket: 'b', objectLock: { mode: 'COMPLIANCE', retentionDays: 365 }, chainId: 'prod' },
    ],
  ])('accepts %o', (env, expected) => {
    expect(readArchiverEnv(env)).toEqual(expected);
  });

  it.each([
    [{}, /AUDIT_ARCHIVE_BUCKET is required/],
    [{ AUDIT_ARCHIVE_BUCKET: 'b', AUDIT_OBJECT_LOCK_MODE: 'COMPLIANCE' }, /go together/],
    [
      { AUDIT_ARCHIVE_BUCKET: 'b', AUDIT_OBJECT_LOCK_MODE: 'LEGAL', AUDIT_OBJECT_LOCK_DAYS: '1' },
      /GOVERNANCE or COMPLIANCE/,
    ],
    [
      { AUDIT_ARCHIVE_BUCKET: 'b', AUDIT_OBJECT_LOCK_MODE: 'GOVERNANCE', AUDIT_OBJECT_LOCK_DAYS: '0' },
      /integer >= 1/,
    ],
  ])('rejects %o naming the variable', (env, message) => {
    expect(() => readArchiverEnv(env)).toThrow(message);
  });

  it('exports a middy handler', () => {
    expect(typeof handler).toBe('function');
  });
});
