/** The EnvService handlers: a thin proto <-> domain adapter over the session store. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  Benchmark,
  type CheckResultSchema,
  type FunctionDocSchema,
  Role,
  type TaskSchema,
} from "@parlmt/gen/parlmt/v1/common_pb.ts";
import type { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { Code, RpcError, type ServiceImpl } from "@parlmt/grpc";
import { parsePyJson, PyDict, pyJsonDumps } from "@parlmt/pycompat";
import type { EnvConfig } from "./config.ts";
import {
  BFCL_CATEGORIES,
  type BfclTask,
  type CheckResult,
  createEpisode,
  type Episode,
  EpisodeDoneError,
  EpisodeNotFoundError,
  EXECUTION_ERROR_PREFIX,
  type FunctionDoc,
  getTask,
  type InlineTask,
  listTasks,
  MAXIMUM_STEP_LIMIT,
  type ParsedCallExpr,
  type SessionStore,
} from "./mod.ts";

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

/** Maps the env-simulator's domain errors to status codes. */
export function envErrorMapper(err: unknown): RpcError | undefined {
  if (err instanceof EpisodeNotFoundError) {
    return new RpcError(Code.NOT_FOUND, err.message, { cause: err });
  }
  if (err instanceof EpisodeDoneError) {
    return new RpcError(Code.FAILED_PRECONDITION, err.message, { cause: err });
  }
  return undefined;
}

function invalid(err: unknown, what: string): RpcError {
  if (err instanceof RpcError) return err;
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) {
    return new RpcError(Code.INVALID_ARGUMENT, `${what}: ${err.message}`, { cause: err });
  }
  throw err;
}

function toolDoc(doc: FunctionDoc): MessageInitShape<typeof FunctionDocSchema> {
  return {
    name: doc.name,
    description: doc.description,
    parametersJson: JSON.stringify(doc.parameters),
    responseJson: doc.response ? JSON.stringify(doc.response) : "",
  };
}

function userMessages(episode: Episode, turn?: number) {
  return episode.userMessages(turn).map((m) => ({
    role: m.role === "user" ? Role.USER : m.role === "system" ? Role.SYSTEM : Role.ASSISTANT,
    content: m.content,
  }));
}

function summary(task: BfclTask) {
  return {
    id: task.id,
    benchmark: Benchmark.BFCL,
    category: task.category,
    involvedClasses: [...task.involvedClasses],
    turnCount: task.question.length,
  };
}

function fullTask(task: BfclTask): MessageInitShape<typeof TaskSchema> {
  return {
    ...summary(task),
    initialConfigJson: pyJsonDumps(task.initialConfig),
    turns: task.question.map((messages, t) => ({
      userMessages: messages.map((m) => ({
        role: m.role === "user" ? Role.USER : Role.SYSTEM,
        content: m.content,
      })),
      groundTruthCalls: [...(task.groundTruth[t] ?? [])],
      revealedFunctions: [...(task.missedFunction.get(t) ?? [])],
    })),
  };
}

function checkResult(result: CheckResult): MessageInitShape<typeof CheckResultSchema> {
  return {
    success: result.valid,
    errorType: result.errorType ?? "",
    turns: result.turns.map((d) => ({
      turnIndex: d.turn,
      stateOk: d.stateMismatches.length === 0,
      responseOk: d.missingResults.length === 0,
      message: d.stateMismatches.length > 0 || d.missingResults.length > 0
        ? (result.errorMessage ?? "")
        : "",
    })),
    reward: result.valid ? 1 : 0,
    detailsJson: JSON.stringify({ errorMessage: result.errorMessage ?? "", turns: result.turns }),
  };
}

/** An inline task in BFCL's record format (`id`, `question`, `involved_classes`, ...). */
export function inlineTaskFromJson(text: string): InlineTask {
  let plain: unknown;
  try {
    plain = JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(`task_json is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof plain !== "object" || plain === null || Array.isArray(plain)) {
    throw new TypeError("task_json must be a JSON object");
  }
  // Parse again with Python semantics so the initial state keeps int vs float (1 vs 1.0).
  const py = parsePyJson(text);
  const initial = py instanceof PyDict ? py.get("initial_config") : undefined;
  if (initial !== undefined && !(initial instanceof PyDict)) {
    throw new TypeError('Field "initial_config" must be an object');
  }
  return { ...(plain as InlineTask), initial_config: initial };
}

/** A call with JSON keyword arguments as a parsed call expression (nothing is evaluated). */
export function callFromJson(name: string, argumentsJson: string): ParsedCallExpr {
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) {
    throw new TypeError(`Invalid function name ${JSON.stringify(name.slice(0, 100))}`);
  }
  const args = argumentsJson.trim() === "" ? new PyDict() : parsePyJson(argumentsJson);
  if (!(args instanceof PyDict)) {
    throw new TypeError(`arguments_json of "${name}" must be a JSON object`);
  }
  const kwargs: [string, { kind: "literal"; value: never }][] = [];
  for (const [key, value] of args.entries()) {
    kwargs.push([String(key), { kind: "literal", value: value as never }]);
  }
  return { name, args: [], kwargs };
}

/** The EnvService handlers over `store`. */
export function envService(store: SessionStore, config: EnvConfig): ServiceImpl<typeof EnvService> {
  const checkSize = (what: string, text: string, limit: number) => {
    if (text.length > limit) {
      throw new RpcError(
        Code.RESOURCE_EXHAUSTED,
        `${what} of ${text.length} characters exceeds the limit of ${limit}`,
      );
    }
  };
  return {
    listTasks(req) {
      if (req.benchmark !== Benchmark.UNSPECIFIED && req.benchmark !== Benchmark.BFCL) {
        return { tasks: [], nextPageToken: "", total: 0 };
      }
      if (req.category && !(BFCL_CATEGORIES as readonly string[]).includes(req.category)) {
        throw new RpcError(
          Code.INVALID_ARGUMENT,
          `Unknown category "${req.category}": expected one of ${BFCL_CATEGORIES.join(", ")}`,
        );
      }
      const all = listTasks(req.category || undefined);
      const offset = req.pageToken ? Number(req.pageToken) : 0;
      if (!Number.isInteger(offset) || offset < 0) {
        throw new RpcError(Code.INVALID_ARGUMENT, `Invalid page_token "${req.pageToken}"`);
      }
      const size = Math.min(req.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const page = all.slice(offset, offset + size);
      const next = offset + size < all.length ? String(offset + size) : "";
      return { tasks: page.map(summary), nextPageToken: next, total: all.length };
    },
    getTask(req) {
      const task = getTask(req.taskId);
      if (!task) throw new RpcError(Code.NOT_FOUND, `Unknown task id "${req.taskId}"`);
      return { task: fullTask(task) };
    },
    createSession(req) {
      let episode: Episode;
      if (req.source.case === "taskId") {
        const id = req.source.value;
        if (!getTask(id)) throw new RpcError(Code.NOT_FOUND, `Unknown task id "${id}"`);
        episode = createEpisode(id);
      } else if (req.source.case === "taskJson") {
        checkSize("task_json", req.source.value, config.maxTaskJsonChars);
        try {
          episode = createEpisode(inlineTaskFromJson(req.source.value));
        } catch (err) {
          throw invalid(err, "Invalid task_json");
        }
      } else {
        throw new RpcError(Code.INVALID_ARGUMENT, "CreateSession needs task_id or task_json");
      }
      let sessionId: string;
      try {
        sessionId = store.add(episode);
      } catch (err) {
        if (err instanceof RangeError) throw new RpcError(Code.RESOURCE_EXHAUSTED, err.message);
        throw err;
      }
      return {
        sessionId,
        task: summary(episode.task),
        userMessages: userMessages(episode),
        tools: episode.tools().map(toolDoc),
      };
    },
    getTools(req) {
      const episode = store.get(req.sessionId);
      const turn = req.turnIndex ?? episode.turn;
      if (turn >= episode.task.question.length) {
        throw new RpcError(
          Code.INVALID_ARGUMENT,
          `turn_index ${turn} is out of range: the task has ${episode.task.question.length} turns`,
        );
      }
      return { tools: episode.tools(turn).map(toolDoc), turnIndex: turn };
    },
    execute(req) {
      const episode = store.get(req.sessionId);
      let calls: string | ParsedCallExpr[];
      try {
        if (req.calls.case === "source") {
          checkSize("Call text", req.calls.value, config.maxCallChars);
          calls = req.calls.value;
        } else if (req.calls.case === "toolCalls") {
          calls = req.calls.value.calls.map((c) => {
            checkSize(`arguments_json of "${c.name}"`, c.argumentsJson, config.maxCallChars);
            return callFromJson(c.name, c.argumentsJson);
          });
        } else {
          throw new RpcError(Code.INVALID_ARGUMENT, "Execute needs source or tool_calls");
        }
      } catch (err) {
        throw invalid(err, "Invalid calls");
      }
      let record;
      try {
        record = episode.step(calls);
      } catch (err) {
        if (err instanceof SyntaxError) throw invalid(err, "Cannot parse calls");
        throw err;
      }
      return {
        results: record.calls.map((source, i) => ({
          call: { name: source.slice(0, source.indexOf("(")), source },
          output: record.results[i]!,
          isError: record.results[i]!.startsWith(EXECUTION_ERROR_PREFIX),
        })),
        stepsUsed: episode.trajectory()[episode.turn]?.length ?? 0,
        stepLimit: MAXIMUM_STEP_LIMIT,
        forceTerminated: episode.forceTerminated,
      };
    },
    reply(req) {
      store.get(req.sessionId);
      throw new RpcError(
        Code.FAILED_PRECONDITION,
        "Reply is for τ-bench sessions; a BFCL turn ends with AdvanceTurn",
      );
    },
    advanceTurn(req) {
      const episode = store.get(req.sessionId);
      episode.advanceTurn();
      if (episode.done) return { turnIndex: episode.turn, done: true };
      return {
        turnIndex: episode.turn,
        userMessages: userMessages(episode),
        tools: episode.tools().map(toolDoc),
        done: false,
      };
    },
    getState(req) {
      const episode = store.get(req.sessionId);
      return { stateJson: episode.stateJson(), turnIndex: episode.turn };
    },
    evaluate(req) {
      return { result: checkResult(store.get(req.sessionId).evaluate()) };
    },
    forkSession(req) {
      try {
        return { sessionId: store.fork(req.sessionId) };
      } catch (err) {
        if (err instanceof RangeError) throw new RpcError(Code.RESOURCE_EXHAUSTED, err.message);
        throw err;
      }
    },
    closeSession(req) {
      if (!store.close(req.sessionId)) {
        throw new RpcError(
          Code.NOT_FOUND,
          `Cannot close session "${req.sessionId}": unknown or expired`,
        );
      }
      return {};
    },
  };
}
