import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { KeyAttribute, TableSchema } from '../data/table-schemas';

/** Properties of {@link AppTables}. */
export interface AppTablesProps {
  /** The key schemas to build (see lib/data/table-schemas.ts). */
  readonly schemas: readonly TableSchema[];
  /** Key for every table except those listed in `keyOverrides`. */
  readonly encryptionKey: kms.IKey;
  /** Tables encrypted with a different key, by schema id (the audit table uses the audit key). */
  readonly keyOverrides?: Readonly<Record<string, kms.IKey>>;
  /**
   * Stops `DeleteTable` from any principal until switched off; on outside dev.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const attribute = (a: KeyAttribute): dynamodb.Attribute => ({
  name: a.name,
  type: dynamodb.AttributeType.STRING,
});

/**
 * The environment's DynamoDB tables, built from the shared key schemas so the tables
 * the tests create in dynalite are exactly these. Each is on-demand (no idle cost, no
 * capacity to exhaust), encrypted with a CMK, with point-in-time recovery, TTL where the
 * schema has one, and a stream of new and old images where the schema asks for one
 * (the audit archive must see any MODIFY or REMOVE as tampering).
 */
export class AppTables extends Construct {
  /** Tables by schema id. */
  readonly byId: ReadonlyMap<string, dynamodb.Table>;

  constructor(scope: Construct, id: string, props: AppTablesProps) {
    super(scope, id);
    const ids = props.schemas.map((s) => s.id);
    if (new Set(ids).size !== ids.length)
      throw new Error(`AppTables: duplicate table ids in ${ids.join(', ')}`);
    const tables = new Map<string, dynamodb.Table>();
    for (const schema of props.schemas) {
      const table = new dynamodb.Table(this, schema.id, {
        partitionKey: attribute(schema.partitionKey),
        ...(schema.sortKey ? { sortKey: attribute(schema.sortKey) } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: props.keyOverrides?.[schema.id] ?? props.encryptionKey,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: props.deletionProtection ?? true,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
        ...(schema.ttlAttribute ? { timeToLiveAttribute: schema.ttlAttribute } : {}),
        ...(schema.stream ? { stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES } : {}),
      });
      for (const index of schema.globalIndexes ?? []) {
        table.addGlobalSecondaryIndex({
          indexName: index.indexName,
          partitionKey: attribute(index.partitionKey),
          ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
          projectionType: dynamodb.ProjectionType.ALL,
        });
      }
      tables.set(schema.id, table);
    }
    this.byId = tables;
  }

  /** The table built from `schema`; throws if it was not built here. */
  table(schema: TableSchema): dynamodb.Table {
    const table = this.byId.get(schema.id);
    if (!table) throw new Error(`AppTables: no table ${schema.id}`);
    return table;
  }
}
