/** onnxruntime-node sessions over host tensors (the only importer of onnxruntime-node). */
export * from "./session.ts";
export * from "./grad_check.ts";
