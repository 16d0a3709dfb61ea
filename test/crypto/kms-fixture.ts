/**
 * A KMS client on moto with a counter of the commands it really sent, a data CMK, and a
 * clock the tests move by hand.
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { Clock } from '../../lambda/chat/ports';

/** A KMS client that records the name of every command it sends. */
export interface CountingKms {
  readonly client: KMSClient;
  /** How many times `command` (e.g. `GenerateDataKeyCommand`) was sent since the last reset. */
  count(command: string): number;
  reset(): void;
}

/** A KMS client on `endpoint` whose middleware counts the commands sent. */
export function countingKms(endpoint: string): CountingKms {
  const client = new KMSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  });
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return {
    client,
    count: (command) => sent.filter((name) => name === command).length,
    reset: () => {
      sent.length = 0;
    },
  };
}

/** Creates a symmetric CMK on moto and returns its ARN. */
export async function createDataKey(client: KMSClient): Promise<string> {
  const { KeyMetadata } = await client.send(
    new CreateKeyCommand({ Description: 'omnichat data key (test)' }),
  );
  if (KeyMetadata?.Arn === undefined) throw new Error('moto returned no key ARN');
  return KeyMetadata.Arn;
}

/** A clock that moves only when told to. */
export function manualClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}
