import { ConfigError } from "../../lib/errors";

/** Runs `load` and returns the issues of the ConfigError it throws, or none when it returns. */
export function issuesThrownBy(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

/** A minimal valid environment of the bridge, with fictional SecMaster ids and keys. */
export const VALID_ENV = {
  SECMASTER_REGION: "cn-north-4",
  SECMASTER_PROJECT_ID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
  SECMASTER_WORKSPACE_ID: "11111111-2222-4333-8444-555555555555",
  SECMASTER_WORKFLOW_ID: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
  SECMASTER_AK: "HPUAEXAMPLEAKID00001",
  SECMASTER_SK: "example-secret",
};
