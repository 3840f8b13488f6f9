/** Reverse-mode autodiff emitting ONNX backward nodes, and the in-graph AdamW optimizer. */
export * from "./tape.ts";
export * from "./vjp_rules.ts";
export * from "./backward.ts";
export { withCustomGrad } from "./custom.ts";
export * from "./fused.ts";
export * from "./adamw.ts";
