import assert from "node:assert/strict";
import { ContextMode, Role } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { buildContext, type TranscriptMessage } from "./context.ts";

const T: TranscriptMessage[] = [
  { role: "user", content: "open docs" },
  { role: "assistant", content: "<progress>p1</progress>[cd(folder='docs')]", progress: "p1" },
  { role: "tool", content: "{}" },
  { role: "assistant", content: "Done." },
  { role: "user", content: "now list" },
  { role: "assistant", content: "<progress>p2</progress>[ls()]", progress: "p2" },
  { role: "tool", content: '{"current_directory_content": []}' },
];

Deno.test("buildContext() in full mode is the transcript", () => {
  assert.equal(buildContext(T, ContextMode.FULL).length, 7);
});

Deno.test("buildContext() in progress mode keeps the latest block and what follows", () => {
  const ctx = buildContext(T, ContextMode.PROGRESS);
  assert.deepEqual(ctx.map((m) => m.content), [
    "<progress>p2</progress>[ls()]",
    '{"current_directory_content": []}',
  ]);
  assert.equal(ctx[0]!.role, Role.ASSISTANT);
  // Before any block exists, the whole transcript is the context.
  assert.equal(buildContext(T.slice(0, 1), ContextMode.PROGRESS).length, 1);
});
