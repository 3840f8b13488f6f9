/** ONNX graph builder: typed values, op helpers, ModelProto emission. */
export * from "./dtype.ts";
export * from "./shape.ts";
export * from "./tensor.ts";
export * from "./graph_builder.ts";
export * from "./ops.ts";
export * from "./ops_shape.ts";
