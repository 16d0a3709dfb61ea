/**
 * The CreateTable request of a table schema (lib/data/table-schemas.ts), for the DynamoDB-API
 * emulator: local mode (`npm run local`) and the test suites create their dynalite tables
 * with it, so neither drifts from the tables the Data stack deploys.
 */
import type {
  AttributeDefinition,
  CreateTableCommandInput,
  GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import type { KeyAttribute, TableSchema } from './table-schemas';

/** Builds the CreateTable request of a schema (PAY_PER_REQUEST, GSIs projected ALL, stream if set). */
export function createTableInput(schema: TableSchema, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, AttributeDefinition>();
  const remember = (key: KeyAttribute | undefined): void => {
    if (key !== undefined) attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  };
  remember(schema.partitionKey);
  remember(schema.sortKey);
  const indexes: GlobalSecondaryIndex[] = (schema.globalIndexes ?? []).map((index) => {
    remember(index.partitionKey);
    remember(index.sortKey);
    return {
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        ...(index.sortKey === undefined
          ? []
          : [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }]),
      ],
      Projection: { ProjectionType: 'ALL' },
    };
  });
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()],
    KeySchema: [
      { AttributeName: schema.partitionKey.name, KeyType: 'HASH' },
      ...(schema.sortKey === undefined
        ? []
        : [{ AttributeName: schema.sortKey.name, KeyType: 'RANGE' as const }]),
    ],
    ...(indexes.length > 0 && { GlobalSecondaryIndexes: indexes }),
    ...(schema.stream === true && {
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  };
}
