/**
 * The built-in model's turn template: a conversation (system text, tool list, user, assistant
 * and tool messages) rendered as text with one special token per role and `<|end|>` after every
 * message, tokenized into ids with a loss mask that is 1 on assistant tokens only.
 *
 * ```text
 * <|system|>{system}\n\n# Tools\n{tool json}\n{tool json}<|end|>
 * <|user|>{content}<|end|><|assistant|>{content}<|end|><|tool|>{content}<|end|>...
 * ```
 * (no newlines between messages). The prompt for generation ends with `<|assistant|>`; the model
 * writes the assistant text and `<|end|>`. Tools are rendered as Python `json.dumps` does it
 * (`", "` and `": "` separators, non-ASCII kept), so {@linkcode CHAT_TEMPLATE} (Jinja, for
 * `tokenizer_config.json`) renders the same text with `tojson`. Checked against
 * `@huggingface/jinja` 0.5.11 (`new Template(CHAT_TEMPLATE).render({ messages, tools,
 * add_generation_prompt })`, tools plain or wrapped as `{type: "function", function}`), with and
 * without a system message and tools; not yet a unit test because the package is not imported.
 *
 * Usage (policy server): `const tpl = new TurnTemplate(BpeTokenizer.fromJSON(json))`, feed
 * `tpl.renderPrompt(messages, tools)`, stop at `tpl.endId`, then `tpl.decodeReply(ids)` and
 * `parseAssistantText(text)`. Message text is not escaped: a special-token string inside content
 * is encoded as that special token (as Hugging Face tokenizers do too).
 * @module
 */
import type { BpeTokenizer } from "./bpe_tokenizer.ts";

/** Role of one message. */
export type TurnRole = "system" | "user" | "assistant" | "tool";

/** One message (assistant text: `<progress>…</progress>` then `[calls]` or a plain reply). */
export interface TurnMessage {
  readonly role: TurnRole;
  readonly content: string;
}

/** One callable function, as listed to the model. */
export interface TurnTool {
  readonly name: string;
  readonly description: string;
  /** JSON schema of the parameters object. */
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** Special tokens of the template; the tokenizer must register all of them. */
export const TURN_TOKENS = Object.freeze({
  /** End of text; also the padding token. */
  endOfText: "<|endoftext|>",
  system: "<|system|>",
  user: "<|user|>",
  assistant: "<|assistant|>",
  tool: "<|tool|>",
  /** End of a message (the model's stop token). */
  end: "<|end|>",
});

/** All special tokens of the template, in registration order (pass to trainBpe). */
export const TURN_SPECIAL_TOKENS: readonly string[] = Object.freeze(Object.values(TURN_TOKENS));

/** The template as a Jinja `chat_template` (`messages`, `tools`, `add_generation_prompt`). */
export const CHAT_TEMPLATE = [
  "{%- if messages and messages[0].role == 'system' -%}",
  "{%- set system = messages[0].content -%}{%- set start = 1 -%}",
  "{%- else -%}{%- set system = '' -%}{%- set start = 0 -%}{%- endif -%}",
  "{%- if start == 1 or tools -%}",
  "{{- '<|system|>' + system -}}",
  "{%- if tools -%}",
  "{%- if system -%}{{- '\\n\\n' -}}{%- endif -%}",
  "{{- '# Tools' -}}",
  "{%- for tool in tools -%}",
  "{%- if tool.function is defined -%}{%- set f = tool.function -%}",
  "{%- else -%}{%- set f = tool -%}{%- endif -%}",
  "{{- '\\n' + (f | tojson) -}}",
  "{%- endfor -%}",
  "{%- endif -%}",
  "{{- '<|end|>' -}}",
  "{%- endif -%}",
  "{%- for message in messages -%}",
  "{%- if loop.index0 >= start -%}",
  "{{- '<|' + message.role + '|>' + message.content + '<|end|>' -}}",
  "{%- endif -%}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{- '<|assistant|>' -}}{%- endif -%}",
].join("");

/** Token ids of a conversation and their loss mask (1 = train on this token). */
export interface RenderedConversation {
  readonly ids: number[];
  readonly lossMask: number[];
}

/** Options of TurnTemplate.renderConversation(). */
export interface RenderConversationOptions {
  /** Which assistant messages train: all of them, or only the last one. @default "all" */
  readonly trainOn?: "all" | "last";
}

const ROLES: ReadonlySet<string> = new Set(["system", "user", "assistant", "tool"]);

/** What the chat template's Jinja `tojson` filter writes: `", "` and `": "` separators, keys in order, non-ASCII kept. */
export function jinjaToJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `[${value.map(jinjaToJson).join(", ")}]`;
  if (typeof value === "object") {
    const items = Object.entries(value as Record<string, unknown>).map(([k, v]) =>
      `${JSON.stringify(k)}: ${jinjaToJson(v)}`
    );
    return `{${items.join(", ")}}`;
  }
  if (typeof value === "number" && Number.isInteger(value)) return String(value);
  return JSON.stringify(value);
}

/** `[role, content]` pieces of a conversation (role "" = the system/tools header). */
function pieces(
  messages: readonly TurnMessage[],
  tools: readonly TurnTool[],
): [TurnRole, string][] {
  messages.forEach((m, i) => {
    if (!m || !ROLES.has(m.role) || typeof m.content !== "string") {
      throw new TypeError(
        `Cannot render message ${i}: role must be system|user|assistant|tool and content a string, got ${
          JSON.stringify(m)?.slice(0, 80)
        }`,
      );
    }
  });
  const out: [TurnRole, string][] = [];
  const start = messages[0]?.role === "system" ? 1 : 0;
  if (start === 1 || tools.length > 0) {
    let system = start === 1 ? messages[0]!.content : "";
    if (tools.length > 0) {
      const lines = tools.map((t, i) => {
        if (!t || typeof t.name !== "string" || !t.name) {
          throw new TypeError(`Cannot render tool ${i}: missing name`);
        }
        return "\n" + jinjaToJson({
          name: t.name,
          description: t.description ?? "",
          parameters: t.parameters ?? {},
        });
      });
      system += (system ? "\n\n" : "") + "# Tools" + lines.join("");
    }
    out.push(["system", system]);
  }
  for (const m of messages.slice(start)) out.push([m.role, m.content]);
  return out;
}

/** Renders token ids and loss masks of conversations with a tokenizer that has the specials. */
export class TurnTemplate {
  readonly tokenizer: BpeTokenizer;
  /** Id of `<|end|>`, the stop token of generation. */
  readonly endId: number;
  /** Id of `<|endoftext|>`, used as padding. */
  readonly padId: number;
  #roleIds: Record<TurnRole, number>;

  constructor(tokenizer: BpeTokenizer) {
    const id = (t: string): number => {
      const v = tokenizer.tokenId(t);
      if (v === undefined || !tokenizer.specialTokens.includes(t)) {
        throw new RangeError(
          `Cannot use tokenizer for the turn template: special token "${t}" is not registered`,
        );
      }
      return v;
    };
    this.tokenizer = tokenizer;
    this.endId = id(TURN_TOKENS.end);
    this.padId = id(TURN_TOKENS.endOfText);
    this.#roleIds = {
      system: id(TURN_TOKENS.system),
      user: id(TURN_TOKENS.user),
      assistant: id(TURN_TOKENS.assistant),
      tool: id(TURN_TOKENS.tool),
    };
  }

  /** The conversation as text (what CHAT_TEMPLATE renders without a generation prompt). */
  static renderConversationText(
    messages: readonly TurnMessage[],
    tools: readonly TurnTool[] = [],
  ): string {
    return pieces(messages, tools).map(([r, c]) => `<|${r}|>${c}${TURN_TOKENS.end}`).join("");
  }

  /** The prompt text: the conversation followed by `<|assistant|>`. */
  static renderPromptText(
    messages: readonly TurnMessage[],
    tools: readonly TurnTool[] = [],
  ): string {
    return TurnTemplate.renderConversationText(messages, tools) + TURN_TOKENS.assistant;
  }

  /**
   * Token ids of the conversation and a mask that is 1 on assistant content and its `<|end|>`
   * (0 on role tokens and every other message). Equals encode(renderConversationText()).
   */
  renderConversation(
    messages: readonly TurnMessage[],
    tools: readonly TurnTool[] = [],
    opts: RenderConversationOptions = {},
  ): RenderedConversation {
    const { trainOn = "all" } = opts;
    const parts = pieces(messages, tools);
    const lastAssistant = parts.findLastIndex(([r]) => r === "assistant");
    const ids: number[] = [];
    const lossMask: number[] = [];
    parts.forEach(([role, content], i) => {
      const train = role === "assistant" && (trainOn === "all" || i === lastAssistant) ? 1 : 0;
      const body = this.tokenizer.encode(content);
      ids.push(this.#roleIds[role], ...body, this.endId);
      lossMask.push(0, ...body.map(() => train), train);
    });
    return { ids, lossMask };
  }

  /** Token ids of the prompt for generation (ends with `<|assistant|>`). */
  renderPrompt(messages: readonly TurnMessage[], tools: readonly TurnTool[] = []): number[] {
    const { ids } = this.renderConversation(messages, tools);
    ids.push(this.#roleIds.assistant);
    return ids;
  }

  /**
   * The `tokenizer_config.json` object that goes next to `tokenizer.json`: the Jinja chat
   * template, the end-of-message token as `eos_token` and `<|endoftext|>` as padding.
   */
  static tokenizerConfig(): Record<string, unknown> {
    return {
      tokenizer_class: "PreTrainedTokenizerFast",
      chat_template: CHAT_TEMPLATE,
      bos_token: null,
      eos_token: TURN_TOKENS.end,
      pad_token: TURN_TOKENS.endOfText,
      unk_token: null,
      additional_special_tokens: TURN_SPECIAL_TOKENS.filter((t) =>
        t !== TURN_TOKENS.end && t !== TURN_TOKENS.endOfText
      ),
      clean_up_tokenization_spaces: false,
      model_max_length: 1_000_000,
    };
  }

  /** Decodes generated ids up to (not including) the first `<|end|>`. */
  decodeReply(ids: readonly number[]): string {
    const stop = ids.indexOf(this.endId);
    return this.tokenizer.decode(stop < 0 ? ids : ids.slice(0, stop));
  }
}
