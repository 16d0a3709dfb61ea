/**
 * Key schemas of every DynamoDB table, as plain data. The Data stack builds the tables
 * from these, and the test suites create the same tables in dynalite from them, so the
 * emulated tables can never drift from the deployed ones.
 *
 * Tables are split by privilege, not by convenience: each function is granted only the
 * tables its routes touch (history cannot read API key hashes, chat cannot read audit).
 */

/** One key attribute; every key in this project is a string. */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S';
}

/** A global secondary index, projected ALL unless stated. */
export interface GlobalIndexSchema {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

/** Everything needed to create a table the same way in AWS and in dynalite. */
export interface TableSchema {
  /** Logical name, also the stable construct id in the Data stack. */
  readonly id: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Attribute holding the epoch-seconds expiry, if items expire. */
  readonly ttlAttribute?: string;
  readonly globalIndexes?: readonly GlobalIndexSchema[];
  /** Whether the table publishes a stream of new and old images. */
  readonly stream?: boolean;
}

const s = (name: string): KeyAttribute => ({ name, type: 'S' });

/** Conversations and their messages: pk `USER#<sub>`, sk `CONV#<id>` / `CONV#<id>#MSG#<ts>`. */
export const conversationsTable: TableSchema = {
  id: 'ConversationsTable',
  partitionKey: s('pk'),
  sortKey: s('sk'),
  ttlAttribute: 'expiresAt',
};

/**
 * Personal API keys: pk `KEY#<sha256 hex of the key>` so a presented key is found with one
 * strongly consistent GetItem; listing a user's keys goes through `byOwner`.
 */
export const apiKeysTable: TableSchema = {
  id: 'ApiKeysTable',
  partitionKey: s('pk'),
  ttlAttribute: 'expiresAt',
  globalIndexes: [{ indexName: 'byOwner', partitionKey: s('owner'), sortKey: s('createdAt') }],
};

/** Per-user rate buckets and daily token budgets: pk `USER#<sub>`, sk `RATE` / `TOKENS#<day>`. */
export const limitsTable: TableSchema = {
  id: 'LimitsTable',
  partitionKey: s('pk'),
  sortKey: s('sk'),
  ttlAttribute: 'expiresAt',
};

/** Versioned runtime settings and the model allow-list: pk `SETTINGS`, sk `v#<zero-padded version>`. */
export const settingsTable: TableSchema = {
  id: 'SettingsTable',
  partitionKey: s('pk'),
  sortKey: s('sk'),
};

/**
 * Append-only audit events. The partition key is sharded so writes spread; `byTime`
 * serves the admin query by time, and the stream feeds the tamper-evident archive.
 */
export const auditTable: TableSchema = {
  id: 'AuditTable',
  partitionKey: s('pk'),
  sortKey: s('sk'),
  ttlAttribute: 'expiresAt',
  globalIndexes: [{ indexName: 'byTime', partitionKey: s('gsi1pk'), sortKey: s('gsi1sk') }],
  stream: true,
};

/** Every table, in the order the Data stack creates them. */
export const allTables: readonly TableSchema[] = [
  conversationsTable,
  apiKeysTable,
  limitsTable,
  settingsTable,
  auditTable,
];
