/**
 * Local mode's counterpart of the AWS directory writers: the users file (written by
 * `npm run local -- --set-groups / --disable-user / --enable-user`, also while the service
 * runs) is watched, and every user's groups, enabled state and `validAfter` are written to the
 * same DynamoDB owner directory the functions read in AWS. The service's bound is therefore
 * the poll interval plus the directory cache (README "Permissions").
 */
import { statSync } from 'node:fs';
import type { OwnerDirectoryWriter } from '../auth/owner-directory';
import type { LocalIssuer, LocalUser } from './issuer';

/** Options of {@link startDirectorySync}. */
export interface DirectorySyncOptions {
  readonly issuer: LocalIssuer;
  readonly directory: OwnerDirectoryWriter;
  /** How often the users file is looked at. @default 250 */
  readonly intervalMs?: number;
  /** Where a failed sync is reported (it is retried at the next tick). */
  readonly onError?: (error: unknown) => void;
}

/** Writes one local user's state to the directory. */
export async function syncLocalUser(directory: OwnerDirectoryWriter, user: LocalUser, at = new Date()) {
  await directory.record(user.sub, {
    groups: user.groups,
    status: user.enabled ? 'active' : 'disabled',
    at,
    ...(user.validAfter > 0 ? { revokeBefore: user.validAfter } : {}),
  });
}

/** Syncs every user now, then whenever the users file changes; returns the stopper. */
export async function startDirectorySync(options: DirectorySyncOptions): Promise<() => Promise<void>> {
  const fingerprint = () => {
    try {
      const info = statSync(options.issuer.usersPath);
      return `${info.mtimeMs}:${info.size}:${info.ino}`;
    } catch {
      return 'missing';
    }
  };
  const known = new Map<string, string>();
  const syncChanged = async () => {
    for (const user of options.issuer.users()) {
      const state = JSON.stringify(user);
      if (known.get(user.sub) === state) continue;
      await syncLocalUser(options.directory, user);
      known.set(user.sub, state);
    }
  };
  let seen = fingerprint();
  await syncChanged();
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    const now = fingerprint();
    if (now === seen) return;
    running = running.then(async () => {
      try {
        await syncChanged();
        seen = now;
      } catch (error) {
        options.onError?.(error);
      }
    });
  }, options.intervalMs ?? 250);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
