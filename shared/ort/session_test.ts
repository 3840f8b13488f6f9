import assert from "node:assert/strict";
import { add, float32, GraphBuilder, matMul } from "@parlmt/onnx";
import { Session } from "./session.ts";

Deno.test("Session runs a builder graph and returns host tensors", async () => {
  const g = new GraphBuilder("probe");
  const a = g.input("a", "float32", [2, 3]);
  const b = g.input("b", "float32", [3, 2]);
  g.output(add(matMul(a, b), 1), "y");
  const s = await Session.create(g.toBytes(), { intraOpNumThreads: 1 });
  try {
    const out = await s.run({
      a: float32([2, 3], [1, 2, 3, 4, 5, 6]),
      b: float32([3, 2], [1, 0, 0, 1, 1, 1]),
    });
    assert.deepEqual(out.y!.dims, [2, 2]);
    assert.deepEqual(Array.from(out.y!.data as Float32Array), [5, 6, 11, 12]);
  } finally {
    await s.dispose();
  }
});

Deno.test("Session.create() rejects a bad thread count", async () => {
  await assert.rejects(
    () => Session.create(new Uint8Array(), { intraOpNumThreads: 0 }),
    RangeError,
  );
});
