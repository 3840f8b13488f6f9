import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { AttributeProto_AttributeType, ModelProtoSchema } from "@parlmt/gen/onnx/onnx_pb.ts";
import { GraphBuilder, IR_VERSION, OPSET } from "./graph_builder.ts";
import { add, gemm, layerNorm, matMul, reduceSum, softmax } from "./ops.ts";
import { concat, reshape, split, transpose } from "./ops_shape.ts";
import { float32 } from "./tensor.ts";

Deno.test("GraphBuilder emits a ModelProto with IR 9, opset 20 and typed attributes", () => {
  const g = new GraphBuilder("m");
  const x = g.input("x", "float32", ["batch", 4]);
  const w = g.initializer("w", float32([4, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
  g.output(softmax(gemm(x, w, null, { alpha: 0.5, transB: 0 }), { axis: 1 }), "y");
  const m = fromBinary(ModelProtoSchema, g.toBytes({ note: "hi" }));
  assert.equal(m.irVersion, BigInt(IR_VERSION));
  assert.equal(m.opsetImport.find((o) => o.domain === "")!.version, BigInt(OPSET));
  assert.deepEqual(m.graph!.input.map((i) => i.name), ["x"]);
  assert.deepEqual(m.graph!.output.map((o) => o.name), ["y"]);
  const dims = m.graph!.input[0]!.type!.value.value!.shape!.dim.map((d) => d.value.value);
  assert.deepEqual(dims, ["batch", 4n]);
  const gemmNode = m.graph!.node.find((n) => n.opType === "Gemm")!;
  const alpha = gemmNode.attribute.find((a) => a.name === "alpha")!;
  assert.equal(alpha.type, AttributeProto_AttributeType.FLOAT);
  assert.equal(alpha.f, 0.5);
  const softmaxNode = m.graph!.node.find((n) => n.opType === "Softmax")!;
  assert.equal(softmaxNode.output[0], "y", "output renamed in place, no Identity");
  assert.equal(m.graph!.initializer[0]!.rawData.length, 32);
  assert.equal(m.metadataProps[0]!.value, "hi");
});

Deno.test("op helpers infer static and symbolic shapes", () => {
  const g = new GraphBuilder();
  const x = g.input("x", "float32", ["B", "T", 6]);
  assert.deepEqual(add(x, g.input("b", "float32", [6])).shape, ["B", "T", 6]);
  assert.deepEqual(matMul(x, g.input("w", "float32", [6, 3])).shape, ["B", "T", 3]);
  assert.deepEqual(reshape(x, ["B", "T", 2, 3]).shape, ["B", "T", 2, 3]);
  assert.deepEqual(reshape(x, [-1, 6]).shape, ["B*T", 6]);
  assert.deepEqual(transpose(x, [2, 0, 1]).shape, [6, "B", "T"]);
  assert.deepEqual(split(x, [2, 4], { axis: 2 }).map((v) => v.shape), [["B", "T", 2], [
    "B",
    "T",
    4,
  ]]);
  assert.deepEqual(concat([x, x], 1).shape, ["B", "T+T", 6]);
  assert.deepEqual(reduceSum(x, [2], { keepdims: false }).shape, ["B", "T"]);
});

Deno.test("op helpers reject mismatched shapes and dtypes, naming the op", () => {
  const g = new GraphBuilder();
  const a = g.input("a", "float32", [2, 3]);
  assert.throws(() => add(a, g.input("b", "float32", [4])), /Add/);
  assert.throws(() => matMul(a, g.input("c", "float32", [4, 2])), /MatMul/);
  assert.throws(() => add(a, g.input("d", "float64", [3])), /Add/);
  assert.throws(() => g.input("a", "float32", [1]), /already used/);
});

Deno.test("toModel() drops unread trailing LayerNormalization statistics, never Split outputs", () => {
  const g = new GraphBuilder();
  const x = g.input("x", "float32", [2, 4]);
  const one = g.initializer("s", float32([4], [1, 1, 1, 1]));
  const [y1] = layerNorm(x, one, null);
  const [y2, mean] = layerNorm(x, one, null);
  const [y3, , rstd] = layerNorm(x, one, null);
  const [a] = split(x, [1, 3], { axis: 1 });
  for (const v of [y1, y2, mean, y3, rstd, a]) g.output(v!);
  const nodes = fromBinary(ModelProtoSchema, g.toBytes()).graph!.node;
  assert.deepEqual(
    nodes.filter((n) => n.opType === "LayerNormalization").map((n) => n.output.length),
    [1, 2, 3],
  );
  assert.equal(nodes.find((n) => n.opType === "Split")!.output.length, 2);
});
