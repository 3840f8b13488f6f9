import assert from "node:assert/strict";
import { float32, hostTensor, int64 } from "@parlmt/onnx";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";

Deno.test("safetensors round-trips tensors and metadata", () => {
  const tensors = new Map([
    ["b.weight", float32([2, 3], [1, 2, 3, 4, 5, 6.5])],
    ["a.ids", int64([3], [7, -1, 9])],
    ["c.scalar", float32([], [3.25])],
  ]);
  const bytes = encodeSafetensors(tensors, { step: "12" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0, "header is padded to 8 bytes");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(header["a.ids"], { dtype: "I64", shape: [3], data_offsets: [0, 24] });
  assert.deepEqual(header.__metadata__, { step: "12" });
  const back = decodeSafetensors(bytes);
  assert.deepEqual(back.metadata, { step: "12" });
  for (const [k, t] of tensors) assert.deepEqual(back.tensors.get(k), t);
});

Deno.test("safetensors reads a file laid out by the reference writer", () => {
  // {"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} + [1.0, -2.0]
  const json = new TextEncoder().encode('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}');
  const bytes = new Uint8Array(8 + json.length + 8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  new DataView(bytes.buffer).setFloat32(8 + json.length, 1, true);
  new DataView(bytes.buffer).setFloat32(8 + json.length + 4, -2, true);
  const { tensors } = decodeSafetensors(bytes);
  assert.deepEqual(tensors.get("x"), hostTensor("float32", [2], Float32Array.from([1, -2])));
});

Deno.test("safetensors rejects truncated data with a SyntaxError", () => {
  const bytes = encodeSafetensors(new Map([["x", float32([4], [1, 2, 3, 4])]]));
  assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4)), SyntaxError);
  assert.throws(() => decodeSafetensors(new Uint8Array(3)), SyntaxError);
});
