/** Ids shared by the benchmark's emulator, clients and plans. None of them names a real account. */
export const BENCH_IDS = {
  projectId: "0000000000000000000000000000b001",
  workspaceId: "00000000-0000-4000-8000-00000000b0a1",
  workflowId: "00000000-0000-4000-8000-00000000b0f1",
  dataclassId: "00000000-0000-4000-8000-00000000b0d1",
} as const;
