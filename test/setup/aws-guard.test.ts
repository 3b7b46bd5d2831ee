import { describe, expect, it } from "vitest";

describe("test environment", () => {
  it("keeps AWS SDK clients away from the EC2 instance metadata service", () => {
    expect(process.env.AWS_EC2_METADATA_DISABLED).toBe("true");
  });
});
