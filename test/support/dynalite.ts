/**
 * In-process dynalite for the emulator suites: listens on a free loopback port and creates
 * tables from the same schemas the Data stack deploys (lib/data/table-schemas.ts).
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../../lib/data/create-table-input';
import type { TableSchema } from '../../lib/data/table-schemas';

export { createTableInput };

type DynaliteFactory = (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

/** A running dynalite, its client, and a table factory. */
export interface DynaliteHandle {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** Creates the tables; returns the table name of each schema id (name = prefix + id). */
  createTables(schemas: readonly TableSchema[], prefix?: string): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** Starts dynalite on 127.0.0.1 with an OS-assigned port. */
export async function startDynalite(): Promise<DynaliteHandle> {
  const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  return {
    endpoint,
    client,
    async createTables(schemas, prefix = '') {
      const names: Record<string, string> = {};
      for (const schema of schemas) {
        const tableName = `${prefix}${schema.id}`;
        await client.send(new CreateTableCommand(createTableInput(schema, tableName)));
        names[schema.id] = tableName;
      }
      return names;
    },
    async stop() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
