import { afterEach, describe, expect, it, vi } from 'vitest';

// The module reads its environment at load (fail fast), through the environment contract.
const entry = '../../lambda/functions/audit-archiver';

describe('archiver handler environment', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('loads with the variables the contract gives it, and exports a middy handler', async () => {
    vi.stubEnv('AUDIT_ARCHIVE_BUCKET', 'audit-archive-test');
    const { handler } = await import(entry);
    expect(typeof handler).toBe('function');
  });

  it.each([
    ['unset', undefined],
    ['blank', '  '],
  ])('fails the cold start naming AUDIT_ARCHIVE_BUCKET when it is %s', async (_what, value) => {
    vi.stubEnv('AUDIT_ARCHIVE_BUCKET', value);
    await expect(import(entry)).rejects.toThrow(
      'Function audit-archiver: environment variable AUDIT_ARCHIVE_BUCKET must be set',
    );
  });
});
