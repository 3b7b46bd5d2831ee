/**
 * A part of the dispatch bundle on its own, for figure 5: the AWS SDK clients and commands that
 * dispatch sends through (the Powertools DynamoDB store, `@middy/ssm`, `@middy/secrets-manager`),
 * bundled the way `scripts/build.ts` bundles them into the functions other than ingest.
 */
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParametersByPathCommand, GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";

export const parts = [
  DynamoDBClient,
  PutItemCommand,
  GetItemCommand,
  UpdateItemCommand,
  DeleteItemCommand,
  SSMClient,
  GetParametersCommand,
  GetParametersByPathCommand,
  SecretsManagerClient,
  GetSecretValueCommand,
  DescribeSecretCommand,
  marshall,
  unmarshall,
];
