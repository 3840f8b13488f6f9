/** The PolicyService handlers: a thin proto <-> domain adapter. */
import { Role } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import type { GenerateParams, PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import type { ServiceImpl } from "@parlmt/grpc";
import { InvalidRequestError } from "./errors.ts";
import type { GenerateOutput, ModelRegistry } from "./onnx_model.ts";
import type { ChatMessage, GenerateInput } from "./request.ts";
import type { TokenDelta } from "./scheduler.ts";
import type { WeightsState } from "./weights_watcher.ts";

const ROLES: Record<number, ChatMessage["role"] | undefined> = {
  [Role.SYSTEM]: "system",
  [Role.USER]: "user",
  [Role.ASSISTANT]: "assistant",
  [Role.TOOL]: "tool",
};

/** The domain request of GenerateParams; throws InvalidRequestError naming the field. */
export function fromProto(p: GenerateParams | undefined): GenerateInput {
  if (!p) throw new InvalidRequestError("Invalid params: missing");
  const s = p.sampling;
  let prompt: GenerateInput["prompt"];
  if (p.prompt.case === "tokens") prompt = { kind: "tokens", ids: p.prompt.value.tokenIds };
  else if (p.prompt.case === "chat") {
    const chat = p.prompt.value;
    prompt = {
      kind: "chat",
      messages: chat.messages.map((m, i) => {
        const role = ROLES[m.role];
        if (!role) {
          throw new InvalidRequestError(`Invalid params.chat.messages[${i}].role ${m.role}`);
        }
        return {
          role,
          content: m.content,
          toolCalls: m.toolCalls.map((c) => ({
            id: c.id,
            name: c.name,
            argumentsJson: c.argumentsJson,
            source: c.source,
          })),
          toolCallId: m.toolCallId,
        };
      }),
      tools: chat.tools.map((t, i) => {
        let parameters: Record<string, unknown> = {};
        try {
          if (t.parametersJson) parameters = JSON.parse(t.parametersJson);
        } catch {
          throw new InvalidRequestError(
            `Invalid params.chat.tools[${i}].parameters_json: not JSON`,
          );
        }
        return { name: t.name, description: t.description, parameters };
      }),
    };
  } else throw new InvalidRequestError("Invalid params.prompt: set chat or tokens");
  return {
    model: p.model,
    prompt,
    sampling: {
      temperature: s?.temperature ?? 0,
      topP: s?.topP ?? 0,
      topK: s?.topK ?? 0,
      seed: s?.seed,
      maxTokens: s?.maxTokens ?? 0,
      stop: s?.stop ?? [],
    },
    constrained: p.constrained,
    pinVersion: p.pinVersion,
  };
}

function generation(r: GenerateOutput) {
  return {
    promptTokenIds: [...r.promptIds],
    tokenIds: r.tokenIds,
    logprobs: r.logprobs,
    tokenVersions: r.tokenVersions,
    text: r.text,
    finishReason: r.finishReason,
  };
}

/** Counters the status reports. */
export interface ServerStats {
  queueDepth(): number;
  activeRequests(): number;
  tokensGenerated(): number;
}

/** The PolicyService implementation over the served models. */
export function policyService(
  models: ModelRegistry,
  weights: WeightsState,
  stats: ServerStats,
): ServiceImpl<typeof PolicyService> {
  return {
    async generate(req, ctx) {
      const input = fromProto(req.params);
      const r = await models.get(input.model).generate(input, { signal: ctx.signal });
      return { generation: generation(r), policyVersion: r.policyVersion };
    },
    async *generateStream(req, ctx) {
      const input = fromProto(req.params);
      const model = models.get(input.model);
      const queue: TokenDelta[] = [];
      let wake: (() => void) | null = null;
      let finished = false;
      let failure: unknown = null;
      const done = model.generate(input, {
        signal: ctx.signal,
        onDelta: (d) => {
          queue.push(d);
          wake?.();
        },
      }).then(
        (r) => r,
        (err) => {
          failure = err;
          return null;
        },
      ).finally(() => {
        finished = true;
        wake?.();
      });
      while (true) {
        while (queue.length > 0) {
          const d = queue.shift()!;
          yield {
            tokenIds: d.tokenIds,
            logprobs: d.logprobs,
            tokenVersions: d.versions,
            textDelta: d.textDelta,
          };
        }
        if (finished) break;
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
      const r = await done;
      if (failure) throw failure;
      yield { finishReason: r!.finishReason };
    },
    listModels() {
      return {
        models: models.models.map((m) => ({
          id: m.id,
          backend: m.backend,
          weightsVersion: m.weightsVersion(),
          configJson: m.configJson(),
        })),
      };
    },
    getPolicyStatus() {
      return {
        weightsVersion: weights.version,
        queueDepth: stats.queueDepth(),
        activeRequests: stats.activeRequests(),
        lastSwap: weights.lastSwap,
        tokensGenerated: BigInt(stats.tokensGenerated()),
      };
    },
  };
}
