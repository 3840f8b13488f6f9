/**
 * `deno task demo`, the main job: the whole PARL-MT method end to end on this machine.
 *
 * 1. nats-server (JetStream) and the env-simulator come up;
 * 2. synthesis writes the curriculum: multi-turn tasks in the BFCL environments, every turn
 *    annotated with a verified progress block (PAG), split by template and entity;
 * 3. the built-in decoder is trained by SFT on the progress-context PAG samples;
 * 4. policy-inference serves it and the held-out tasks are evaluated (greedy);
 * 5. the learner and N rollout actors run PAG-RL: actors lease tasks, roll out groups through
 *    policy-inference and the env-simulator, the learner scores them (composite reward), trains
 *    and broadcasts weights over NATS, which policy-inference verifies and swaps in;
 * 6. the final weights are evaluated on the same held-out tasks, and a table, an HTML report
 *    with the curves and the paired 95% confidence interval of the difference are written.
 *
 * Defaults take about 15 minutes on two cores; flags scale it (`--help`).
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { exitOnSignals } from "@parlmt/stack";
import {
  PRE_TOKENIZER_STYLES,
  type PreTokenizerStyle,
  TOOL_DOC_STYLES,
  type ToolDocStyle,
} from "@parlmt/tokenizer";
import { type Heldout, HELDOUT_KINDS } from "../services/synthesis/generate_tasks.ts";
import { ENTITY_POOL_KINDS, type EntityPools } from "../services/synthesis/entities.ts";
import { type ArmName, ARMS, type RunConfig, runPipeline } from "./demo/pipeline.ts";
import { compare, headline, htmlReport, seriesOf, svgChart, tableLines } from "./demo/report.ts";
import { signed } from "./demo/stats.ts";
import { ADVANTAGE_ESTIMATORS, type AdvantageEstimator } from "../services/learner/advantages.ts";
import { DEFAULT_REWARD_WEIGHTS } from "../services/learner/rewards.ts";
import { ADVANTAGE_WEIGHTINGS, type AdvantageWeighting } from "../services/learner/rl_step.ts";
import { withRewardOverrides } from "../services/learner/reward_config.ts";

const DEFAULTS = {
  out: ".local/demo",
  from: "",
  seed: 1,
  arm: "pag-rl",
  tasks: 4000,
  classes: "MessageAPI,TwitterAPI,TicketAPI,TravelAPI",
  "min-turns": 1,
  "max-turns": 2,
  heldout: "template",
  "rl-families": 1,
  entities: "base",
  "max-calls-per-turn": 2,
  "max-dependency-depth": 1,
  "miss-param-rate": 0.05,
  "miss-func-rate": 0.05,
  "max-distractors": 0,
  "offered-tools": 4,
  "tool-docs": "signature",
  "n-layer": 2,
  "n-embd": 128,
  rotary: "true",
  "pre-tokenizer": "isolated",
  context: 512,
  "vocab-size": 1024,
  "sft-steps": 1800,
  "sft-batch": 16,
  "sft-lr": 3e-3,
  "rl-seconds": 360,
  "rl-updates": 0,
  actors: 2,
  "actor-concurrency": 8,
  "group-size": 8,
  "groups-per-step": 4,
  "rl-lr": 1e-4,
  "rl-batch": 32,
  "rl-epochs": 2,
  "ema-decay": 0.95,
  "kl-coef": 0,
  estimator: "grpo",
  "advantage-weighting": "token",
  "turn-level-weight": 0,
  // The outcome terms (success, per-turn checks) and the format term: docs/rl-findings.md
  "reward-weights": "call_f1=0,redundancy=0,alignment=0",
  temperature: 1,
  "max-tokens": 160,
  "eval-tasks": 0,
  threads: 2,
  "policy-threads": 1,
};

const HELP =
  `Usage: deno task demo [options]   (the main job: synth -> SFT -> PAG-RL -> held-out table)

${Object.entries(DEFAULTS).map(([k, v]) => `  --${k.padEnd(20)} default ${v}`).join("\n")}

  --rotary false drops the rotary positions of queries and keys (learned positions only);
  --pre-tokenizer gpt2 attaches spaces to the next word (a value is then spelled by other
  tokens in a request than in a call; "isolated" keeps spaces and digits apart).
  --arm is one of ${ARMS.join(", ")}; --tool-docs one of ${TOOL_DOC_STYLES.join(", ")};
  --entities is one of ${ENTITY_POOL_KINDS.join(", ")} (entity pools of the curriculum);
  --heldout is one of ${HELDOUT_KINDS.join(", ")} (what the test split holds out);
  --rl-families N (0-3) keeps the last N of the four train phrasing families for RL: SFT never
  sees those tasks, RL leases only them (0: RL leases the SFT tasks);
  --estimator is one of ${ADVANTAGE_ESTIMATORS.join(", ")}; --advantage-weighting one of
  ${ADVANTAGE_WEIGHTINGS.join(", ")} (every generated token counts once, or every episode the same
  whatever its length); --reward-weights overrides the arm's
  reward weights (term=weight,..., terms ${Object.keys(DEFAULT_REWARD_WEIGHTS).join(", ")});
  the default keeps the outcome terms and the format term, "" the full composite weights.
  --rl-batch is the number of policy samples (one per step of a rollout) per optimizer step;
  an update trains on all of its groups' samples in such batches.
  --rl-epochs N passes N times over each update's samples (PPO epochs);
  --ema-decay D evaluates, as the PAG-RL model, the running average of the weights over the
  RL updates (an EMA of decay D; 0: the last weights; docs/rl-findings.md).
  --rl-updates N ends RL once the learner has made N updates (checked each second), or at
  --rl-seconds, whichever comes first (0: no update limit).
  --from DIR reuses the curriculum and SFT model of an earlier run's output folder.
  --eval-tasks 0 evaluates the whole held-out split. Output goes to --out (report.html,
  result.json, logs/).`;

/** Parses the flags into a run config; throws RangeError naming the flag. */
export function parseDemoArgs(args: string[], log: (line: string) => void): RunConfig {
  const options = Object.fromEntries(
    [...Object.keys(DEFAULTS), "help"].map((
      k,
    ) => [k, { type: k === "help" ? "boolean" : "string" }]),
  ) as Record<string, { type: "string" | "boolean" }>;
  const { values } = parseArgs({ args, options, strict: true });
  if (values.help) throw new RangeError(HELP);
  const str = (k: keyof typeof DEFAULTS) => String(values[k] ?? DEFAULTS[k]);
  const num = (k: keyof typeof DEFAULTS, min = 0) => {
    const n = Number(str(k));
    if (!Number.isFinite(n) || n < min) {
      throw new RangeError(`Invalid flag "--${k}": expected a number ≥ ${min}, got "${str(k)}"`);
    }
    return n;
  };
  const rate = (k: keyof typeof DEFAULTS) => {
    const n = num(k);
    if (n > 1) throw new RangeError(`Invalid flag "--${k}": expected a rate in [0, 1], got ${n}`);
    return n;
  };
  const decay = (k: keyof typeof DEFAULTS) => {
    const n = num(k);
    if (n >= 1) throw new RangeError(`Invalid flag "--${k}": expected a decay in [0, 1), got ${n}`);
    return n;
  };
  const int = (k: keyof typeof DEFAULTS, min = 0) => {
    const n = num(k, min);
    if (!Number.isInteger(n)) throw new RangeError(`Invalid flag "--${k}": expected an integer`);
    return n;
  };
  /** The value of a flag that must be one of `options`. */
  const choice = <T extends string>(k: keyof typeof DEFAULTS, options: readonly T[]): T => {
    const v = str(k) as T;
    if (!options.includes(v)) {
      throw new RangeError(
        `Invalid flag "--${k}": expected one of ${options.join(", ")}, got "${v}"`,
      );
    }
    return v;
  };
  const estimator = choice<AdvantageEstimator>("estimator", ADVANTAGE_ESTIMATORS);
  const advantageWeighting = choice<AdvantageWeighting>(
    "advantage-weighting",
    ADVANTAGE_WEIGHTINGS,
  );
  const rewardWeights = str("reward-weights");
  try {
    withRewardOverrides(DEFAULT_REWARD_WEIGHTS, rewardWeights);
  } catch (err) {
    throw new RangeError(`Invalid flag "--reward-weights": ${(err as Error).message}`);
  }
  const arm = choice<ArmName>("arm", ARMS);
  const toolDocs = choice<ToolDocStyle>("tool-docs", TOOL_DOC_STYLES);
  const heldout = choice<Heldout>("heldout", HELDOUT_KINDS);
  const entities = choice<EntityPools>("entities", ENTITY_POOL_KINDS);
  return {
    out: str("out"),
    entities,
    ...(str("from") ? { from: str("from") } : {}),
    heldout,
    rlFamilies: Number(choice("rl-families", ["0", "1", "2", "3"])),
    seed: int("seed"),
    arm,
    tasks: int("tasks", 10),
    classes: str("classes").split(",").filter(Boolean),
    minTurns: int("min-turns", 1),
    maxTurns: int("max-turns", 1),
    maxCallsPerTurn: int("max-calls-per-turn", 1),
    maxDependencyDepth: int("max-dependency-depth"),
    missParamRate: rate("miss-param-rate"),
    missFuncRate: rate("miss-func-rate"),
    maxDistractors: int("max-distractors"),
    offeredTools: int("offered-tools"),
    toolDocs,
    nLayer: int("n-layer", 1),
    nEmbd: int("n-embd", 8),
    rotary: choice("rotary", ["true", "false"]) === "true",
    preTokenizer: choice<PreTokenizerStyle>("pre-tokenizer", PRE_TOKENIZER_STYLES),
    context: int("context", 64),
    vocabSize: int("vocab-size", 262),
    sftSteps: int("sft-steps", 1),
    sftBatch: int("sft-batch", 1),
    sftLr: num("sft-lr"),
    rlSeconds: num("rl-seconds"),
    rlUpdates: int("rl-updates"),
    actors: int("actors", 1),
    actorConcurrency: int("actor-concurrency", 1),
    groupSize: int("group-size", 2),
    groupsPerStep: int("groups-per-step", 1),
    rlLr: num("rl-lr"),
    rlBatch: int("rl-batch", 1),
    rlEpochs: int("rl-epochs", 1),
    emaDecay: decay("ema-decay"),
    klCoef: num("kl-coef"),
    estimator,
    advantageWeighting,
    turnLevelWeight: num("turn-level-weight"),
    rewardWeights,
    temperature: num("temperature"),
    maxTokens: int("max-tokens", 1),
    evalTasks: int("eval-tasks"),
    threads: int("threads", 1),
    policyThreads: int("policy-threads", 1),
    log,
  };
}

if (import.meta.main) {
  const t0 = performance.now();
  const log = (line: string) => {
    const s = ((performance.now() - t0) / 1000).toFixed(0).padStart(4);
    console.log(`[${s} s] ${line}`);
  };
  let cfg: RunConfig;
  try {
    cfg = parseDemoArgs(Deno.args, log);
  } catch (err) {
    console.log((err as Error).message);
    Deno.exit((err as Error).message === HELP ? 0 : 2);
  }
  // Ctrl-C or SIGTERM stops every service and script of the run before the demo exits.
  exitOnSignals({ onSignal: (s) => log(`${s}: stopping the stack`) });
  const result = await runPipeline(cfg);
  const names: [string, string] = ["SFT", cfg.arm === "sft" ? "SFT+" : "PAG-RL"];
  const c = compare(names, result.before, result.after);
  const ev = result.learnerEvents;
  const charts = [
    svgChart("SFT loss", {
      train: seriesOf(result.sftEvents, "losses/train"),
      "held-out": seriesOf(result.sftEvents, "losses/heldout"),
    }),
    svgChart("RL: mean reward", { reward: seriesOf(ev, "charts/reward_mean") }),
    svgChart("RL: rollout success rate", { success: seriesOf(ev, "charts/success_rate") }),
    svgChart(
      "RL: reward terms",
      Object.fromEntries(
        ["success", "turn_checks", "call_f1", "format", "redundancy", "alignment"].map((
          t,
        ) => [t, seriesOf(ev, `rewards/${t}`)]),
      ),
    ),
    svgChart("RL: KL to the SFT policy", { kl: seriesOf(ev, "losses/kl") }),
    svgChart("RL: clip fraction", { clip: seriesOf(ev, "losses/clip_fraction") }),
    svgChart("RL: entropy", { entropy: seriesOf(ev, "losses/entropy") }),
    svgChart("RL: weights version", { version: seriesOf(ev, "charts/weights_version") }),
  ];
  const total = (performance.now() - t0) / 1000;
  const facts: [string, string][] = [
    ["arm", cfg.arm],
    ["seed", String(cfg.seed)],
    [
      "curriculum",
      `${result.synth.tasks} tasks (${
        cfg.classes.join(", ")
      }), ${cfg.minTurns}-${cfg.maxTurns} turns, held out: ${cfg.heldout}${
        cfg.from ? ` (reused from ${cfg.from})` : ""
      }`,
    ],
    [
      "model",
      `${cfg.nLayer} layers, width ${cfg.nEmbd}, context ${cfg.context}, ${result.sft.params} parameters`,
    ],
    [
      "SFT",
      `${cfg.sftSteps} steps × ${cfg.sftBatch}, held-out loss ${
        Number(result.sft.heldOutLossBefore).toFixed(3)
      } → ${Number(result.sft.heldOutLossAfter).toFixed(3)}`,
    ],
    [
      "RL",
      `${result.rl.steps} updates, ${result.rl.trajectories} trajectories, ${cfg.actors} actors, group ${cfg.groupSize}, ${
        Math.round(result.rl.seconds)
      } s; evaluated: ${
        result.rl.averaged ? `the EMA of the weights (decay ${cfg.emaDecay})` : "the last weights"
      }`,
    ],
    [
      "time",
      Object.entries(result.seconds).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(", ") +
      `, total ${total.toFixed(0)} s`,
    ],
    ["dashboard (while the learner ran)", result.dashboard],
  ];
  await Deno.writeTextFile(
    join(cfg.out, "report.html"),
    htmlReport({ title: `PARL-MT demo: ${names[0]} vs ${names[1]}`, comparison: c, facts, charts }),
  );
  await Deno.writeTextFile(
    join(cfg.out, "result.json"),
    JSON.stringify({ ...result, comparison: c, totalSeconds: total }, null, 1),
  );
  console.log("");
  for (const l of tableLines(c)) console.log(l);
  console.log("");
  console.log(`report: ${join(cfg.out, "report.html")}  (${total.toFixed(0)} s in all)`);
  console.log(
    `held-out mean reward: ${c.a.reward.toFixed(3)} -> ${c.b.reward.toFixed(3)} (95% CI of the ` +
      `difference: [${signed(c.reward.low)}, ${signed(c.reward.high)}])`,
  );
  console.log(headline(c));
}
