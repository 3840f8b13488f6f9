/**
 * The BFCL multi-turn checker (`multi_turn_checker` + `_evaluate_single_multi_turn_entry`)
 * and BFCL scoring (docs/bfcl-spec.md §6).
 * @module
 */
import { pyEquals, pyJsonDumps, type PyValue } from "@parlmt/pycompat";
import { Executor } from "./executor.ts";
import type { BfclTask } from "./tasks.ts";
import { encodeState } from "./state_codec.ts";

/** Why an entry failed (BFCL's error types). */
export type CheckErrorType =
  | "multi_turn:inference_error"
  | "multi_turn:force_terminated"
  | "multi_turn:empty_turn_model_response"
  | "multi_turn:instance_state_mismatch"
  | "multi_turn:execution_response_mismatch";

/** Per-turn diagnostics. */
export interface TurnDiagnostic {
  /** Turn index. */
  readonly turn: number;
  /** Whether the turn was checked (its ground truth is non-empty). */
  readonly checked: boolean;
  /** Observations of the model's calls in this turn. */
  readonly modelResults: readonly string[];
  /** Observations of the ground-truth calls in this turn. */
  readonly groundTruthResults: readonly string[];
  /** State differences: class, attribute, model value and ground-truth value (JSON). */
  readonly stateMismatches: readonly {
    readonly className: string;
    readonly attribute: string;
    readonly model: string;
    readonly groundTruth: string;
  }[];
  /** Ground-truth results not found among the model's cumulative results. */
  readonly missingResults: readonly string[];
}

/** The checker's verdict for one entry. */
export interface CheckResult {
  /** Whether every turn passed. */
  readonly valid: boolean;
  /** The first failure's type. */
  readonly errorType?: CheckErrorType;
  /** The first failure's message. */
  readonly errorMessage?: string;
  /** Diagnostics for the turns that were evaluated (up to the first failure). */
  readonly turns: readonly TurnDiagnostic[];
}

/** Model output of an entry: turn → step → decoded call strings (empty steps are dropped). */
export type ModelTurns = readonly (readonly (readonly string[])[])[];

/** `_is_subsequence_unordered`: GT results missing from (a copy of) the model results. */
function missingFrom(groundTruth: readonly string[], model: readonly string[]): string[] {
  const pool = new Map<string, number>();
  for (const r of model) pool.set(r, (pool.get(r) ?? 0) + 1);
  const missing: string[] = [];
  for (const r of groundTruth) {
    const n = pool.get(r) ?? 0;
    if (n > 0) pool.set(r, n - 1);
    else missing.push(r);
  }
  return missing;
}

function json(v: PyValue | undefined): string {
  return v === undefined ? "<missing>" : pyJsonDumps(encodeState(v));
}

/** Check a model's multi-turn result against a task's ground truth, like the reference. */
export function checkMultiTurn(task: BfclTask, modelTurns: unknown): CheckResult {
  if (!Array.isArray(modelTurns)) {
    return {
      valid: false,
      errorType: "multi_turn:inference_error",
      errorMessage: "Error during inference phase.",
      turns: [],
    };
  }
  const gt = task.groundTruth;
  if (modelTurns.length !== gt.length) {
    return {
      valid: false,
      errorType: "multi_turn:force_terminated",
      errorMessage:
        `Model was force-terminated during inference phase. The length of the model result turns (${modelTurns.length}) does not match the length of the ground truth turns (${gt.length}).`,
      turns: [],
    };
  }
  const model = new Executor(task.involvedClasses, task.initialConfig, task.longContext);
  const truth = new Executor(task.involvedClasses, task.initialConfig, task.longContext);
  const allModelResults: string[] = [];
  const turns: TurnDiagnostic[] = [];
  for (let i = 0; i < gt.length; i++) {
    const steps = ((modelTurns[i] ?? []) as unknown[]).filter(
      (s): s is string[] =>
        Array.isArray(s) && s.length > 0 && s.every((c) => typeof c === "string"),
    );
    const turnResults: string[] = [];
    for (const step of steps) turnResults.push(...model.executeStrings(step));
    const gtResults = truth.executeStrings(gt[i]!);
    allModelResults.push(...turnResults);
    const base = { turn: i, modelResults: turnResults, groundTruthResults: gtResults };
    if (gt[i]!.length > 0 && steps.length === 0) {
      // The reference stops here, before its state and response checks; the diagnostics must
      // still show a failed turn (every ground-truth result is missing from this turn).
      turns.push({ ...base, checked: true, stateMismatches: [], missingResults: [...gtResults] });
      return {
        valid: false,
        errorType: "multi_turn:empty_turn_model_response",
        errorMessage: `Model response list is empty for turn ${i}`,
        turns,
      };
    }
    if (gt[i]!.length === 0) {
      turns.push({ ...base, checked: false, stateMismatches: [], missingResults: [] });
      continue;
    }
    const mismatches: TurnDiagnostic["stateMismatches"][number][] = [];
    const modelState = model.state();
    for (const [className, gtAttrs] of truth.state()) {
      const modelAttrs = modelState.get(className);
      for (const [attr, value] of gtAttrs) {
        const other = modelAttrs?.get(attr);
        if (!pyEquals(value, other)) {
          mismatches.push({
            className,
            attribute: String(attr),
            model: json(other),
            groundTruth: json(value),
          });
        }
      }
    }
    const missing = mismatches.length > 0 ? [] : missingFrom(gtResults, allModelResults);
    turns.push({ ...base, checked: true, stateMismatches: mismatches, missingResults: missing });
    if (mismatches.length > 0) {
      return {
        valid: false,
        errorType: "multi_turn:instance_state_mismatch",
        errorMessage: `Model instance for ${
          mismatches[0]!.className
        } does not match the state with ground truth instance.`,
        turns,
      };
    }
    if (missing.length > 0) {
      return {
        valid: false,
        errorType: "multi_turn:execution_response_mismatch",
        errorMessage:
          "Model response execution results do not match the ground truth response execution results.",
        turns,
      };
    }
  }
  return { valid: true, turns };
}

/** Per-category accuracy and the overall unweighted mean of the category accuracies. */
export interface BfclScore {
  /** Category → `{ correct, total, accuracy }`. */
  readonly categories: Readonly<
    Record<string, { correct: number; total: number; accuracy: number }>
  >;
  /** Unweighted mean of the category accuracies (0 when there are none). */
  readonly overall: number;
}

/** BFCL scoring: accuracy per category, overall = unweighted mean over categories. */
export function scoreBfcl(results: readonly { category: string; valid: boolean }[]): BfclScore {
  const categories: Record<string, { correct: number; total: number; accuracy: number }> = {};
  for (const r of results) {
    const c = categories[r.category] ??= { correct: 0, total: 0, accuracy: 0 };
    c.total++;
    if (r.valid) c.correct++;
  }
  const accs = Object.values(categories).map((c) => (c.accuracy = c.correct / c.total));
  return { categories, overall: accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : 0 };
}
