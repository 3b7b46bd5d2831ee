import type { HttpRequestOptions } from "@huaweicloud/huaweicloud-sdk-core/HcClient";

/**
 * Builds the request options that the generated SecMaster client of the official SDK passes to
 * `HcClient.sendRequest` for CreateWorkflowInstance.
 */
export function createWorkflowInstanceOptions(workspaceId: string, workflowId: string, body: object): HttpRequestOptions {
  return {
    method: "POST",
    url: "/v1/{project_id}/workspaces/{workspace_id}/soc/workflows/{workflow_id}/instances",
    contentType: "application/json",
    queryParams: {},
    pathParams: { workspace_id: workspaceId, workflow_id: workflowId },
    headers: { "Content-Type": "application/json" },
    data: body,
  };
}
