import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TaskSchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { Coordinator, listSource } from "./coordinator.ts";

Deno.test("Coordinator: overlapping lease-state writes all succeed and the last one wins", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tasks = Array.from({ length: 40 }, (_, i) => create(TaskSchema, { id: `t${i}` }));
    const c = await Coordinator.open({ dir, source: listSource(tasks, 1), groupSize: 1 });
    // Each lease advances the cursor and persists; before serialisation they shared one temp file.
    const leased = await Promise.all(Array.from({ length: 40 }, (_, i) => c.lease(`a${i}`, 1)));
    assert.equal(leased.flat().length, 40);
    c.close();
    const state = JSON.parse(await Deno.readTextFile(`${dir}/leases.json`));
    assert.equal(state.cursor, 40);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
