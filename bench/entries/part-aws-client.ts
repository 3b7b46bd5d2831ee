/**
 * A part of the function bundles on its own, for figure 5: the AWS client the functions call SQS,
 * SSM, Secrets Manager and DynamoDB with, and the idempotency store built on it.
 */
import { AwsJsonClient } from "../../lib/aws/client";
import { DynamoDBStore } from "../../lib/delivery/dynamodb-store";

export const parts = [AwsJsonClient, DynamoDBStore];
