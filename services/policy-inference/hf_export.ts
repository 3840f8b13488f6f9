/**
 * Exports the built-in model in the Hugging Face / Optimum ONNX decoder layout, so it is served
 * (here or by any ORT-based server) like any exported Hugging Face decoder: `model.onnx` with
 * `input_ids`, `attention_mask`, `position_ids`, `past_key_values.N.key|value` → `logits`,
 * `present.N.key|value`; `config.json` (GPT-2 keys); `model.safetensors`; `tokenizer.json`;
 * `tokenizer_config.json` with the Jinja chat template; `generation_config.json`.
 */
import {
  buildInferenceGraph,
  encodeSafetensors,
  type ModelConfig,
  ROTARY_BASE,
  type Weights,
} from "@parlmt/model";
import { type BpeTokenizer, TURN_TOKENS, TurnTemplate } from "@parlmt/tokenizer";

/** Writes the model folder `dir` (created if missing). */
export async function exportHfModel(
  dir: string,
  config: ModelConfig,
  weights: Weights,
  tokenizer: BpeTokenizer,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const eos = tokenizer.tokenId(TURN_TOKENS.end);
  const pad = tokenizer.tokenId(TURN_TOKENS.endOfText);
  const hf = {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    n_layer: config.nLayer,
    n_head: config.nHead,
    n_embd: config.nEmbd,
    n_inner: config.nFf,
    vocab_size: config.vocabSize,
    n_positions: config.blockSize,
    n_ctx: config.blockSize,
    layer_norm_epsilon: config.layerNormEps,
    activation_function: config.activation,
    tie_word_embeddings: false,
    use_cache: true,
    eos_token_id: eos ?? null,
    pad_token_id: pad ?? null,
    torch_dtype: "float32",
    // GPT-2 has no rotary positions: a rotary model is marked (model.onnx computes it in full)
    ...(config.rotary ? { position_encoding: "learned+rotary", rotary_base: ROTARY_BASE } : {}),
  };
  const json = (v: unknown) => JSON.stringify(v, null, 2) + "\n";
  await Deno.writeFile(`${dir}/model.onnx`, buildInferenceGraph(config, { weights }).toBytes());
  await Deno.writeFile(`${dir}/model.safetensors`, encodeSafetensors(weights, { format: "pt" }));
  await Deno.writeTextFile(`${dir}/config.json`, json(hf));
  await Deno.writeTextFile(`${dir}/tokenizer.json`, json(tokenizer.toJSON()));
  await Deno.writeTextFile(`${dir}/tokenizer_config.json`, json(TurnTemplate.tokenizerConfig()));
  await Deno.writeTextFile(
    `${dir}/generation_config.json`,
    json({ eos_token_id: eos ?? null, pad_token_id: pad ?? null }),
  );
}
