/** Byte-level BPE tokenizer: training, encode/decode, Hugging Face tokenizer.json. */
export * from "./byte_level.ts";
export * from "./bpe_train.ts";
export * from "./bpe_tokenizer.ts";
