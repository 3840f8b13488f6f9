/** Byte-level BPE tokenizer: training, encode/decode, Hugging Face tokenizer.json. */
export * from "./byte_level.ts";
export * from "./bpe_train.ts";
export * from "./bpe_tokenizer.ts";
export * from "./turn_template.ts";
export * from "./assistant_text.ts";
export * from "./train_turn_tokenizer.ts";
export * from "./compact_tool.ts";
