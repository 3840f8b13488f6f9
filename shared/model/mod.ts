/** The decoder transformer: config, weights, graphs (training, inference, logprobs), trainer. */
export * from "./config.ts";
export * from "./prng.ts";
export * from "./weights.ts";
export * from "./decoder.ts";
export * from "./rotary.ts";
export * from "./loss.ts";
export * from "./masks.ts";
export * from "./train_graph.ts";
export * from "./trainer.ts";
export * from "./inference_graph.ts";
export * from "./generate.ts";
export * from "./logprobs.ts";
export * from "./safetensors.ts";
export * from "./checkpoint.ts";
export * from "./canary.ts";
export * from "./step_graph.ts";
