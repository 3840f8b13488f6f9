/**
 * Entity pools of the synthetic curriculum, split by value: about a quarter of the values (by a
 * hash of the value) are held out for the test split, so test tasks use values never seen in training.
 * @module
 */
import type { PyRandom } from "@parlmt/pycompat";

/** A curriculum split. */
export type Split = "train" | "test";

/** The pools, by entity kind (values are short, lower-case where the environment allows). */
export const ENTITY_POOLS = {
  folder: [
    "docs",
    "notes",
    "music",
    "photos",
    "backup",
    "drafts",
    "reports",
    "games",
    "tools",
    "mail",
    "logs",
    "books",
    "maps",
    "films",
    "taxes",
    "recipes",
    "school",
    "travel",
    "code",
    "art",
  ],
  newFolder: [
    "old",
    "keep",
    "done",
    "inbox",
    "stash",
    "later",
    "misc",
    "spare",
    "extra",
    "copies",
    "final",
    "hold",
    "temp2",
    "vault",
    "box",
    "shelf",
  ],
  stem: [
    "plan",
    "todo",
    "budget",
    "draft",
    "summary",
    "list",
    "memo",
    "recipe",
    "song",
    "poem",
    "diary",
    "invoice",
    "agenda",
    "story",
    "letter",
    "report",
    "quote",
    "score",
    "guide",
    "menu",
  ],
  ext: ["txt", "md", "log", "csv"],
  word: [
    "apple",
    "river",
    "green",
    "cloud",
    "stone",
    "quick",
    "bright",
    "tiger",
    "maple",
    "ocean",
    "silver",
    "candle",
    "window",
    "garden",
    "rocket",
    "pencil",
    "forest",
    "violet",
    "copper",
    "meadow",
    "harbor",
    "lemon",
    "velvet",
    "falcon",
  ],
  person: [
    "Alice",
    "Bob",
    "Carol",
    "Dave",
    "Erin",
    "Frank",
    "Grace",
    "Heidi",
    "Ivan",
    "Judy",
    "Ken",
    "Liam",
    "Mia",
    "Nora",
    "Oscar",
    "Paul",
    "Quinn",
    "Rosa",
    "Sam",
    "Tina",
  ],
  handle: [
    "sky_fox",
    "red_owl",
    "blue_cat",
    "tall_elk",
    "neo_bee",
    "old_ram",
    "sly_cod",
    "gem_yak",
    "fun_emu",
    "big_ant",
    "wet_eel",
    "dry_fig",
    "hot_pie",
    "ice_jay",
    "mad_hen",
    "shy_gnu",
  ],
  company: [
    "Apple",
    "Google",
    "Tesla",
    "Microsoft",
    "Nvidia",
    "Zeta Corp",
    "Alpha Tech",
    "Omega Industries",
    "Quasar Ltd.",
    "Neptune Systems",
    "Synex Solutions",
    "Amazon",
  ],
  city: [
    "Rivermist",
    "Stonebrook",
    "Maplecrest",
    "Silverpine",
    "Shadowridge",
    "Sunset Valley",
    "Oakendale",
    "Willowbend",
    "Crescent Hollow",
    "Autumnville",
    "San Francisco",
    "Pinehaven",
  ],
  airportCity: [
    "Rivermist",
    "Stonebrook",
    "Maplecrest",
    "Silverpine",
    "Shadowridge",
    "London",
    "Paris",
    "Sunset Valley",
    "Oakendale",
    "Willowbend",
    "Crescent Hollow",
    "Autumnville",
    "Pinehaven",
    "Greenfield",
    "San Francisco",
    "Los Angeles",
    "New York",
    "Chicago",
    "Boston",
    "Beijing",
  ],
  currency: ["EUR", "GBP", "JPY", "CNY", "INR", "CAD", "AUD", "CHF"],
  smallInt: Array.from({ length: 40 }, (_, i) => String(i + 2)),
  priority: ["1", "2", "3", "4", "5"],
} as const;

/** An entity kind. */
export type EntityKind = keyof typeof ENTITY_POOLS;

/** Kinds whose values are not split (too few values to hold any out). */
const UNSPLIT: ReadonlySet<EntityKind> = new Set(["ext", "priority", "currency"]);

/** Which values the generator draws from (see {@linkcode wideValues}). */
export type EntityPools = "base" | "wide";
/** Every {@linkcode EntityPools} value. */
export const ENTITY_POOL_KINDS: readonly EntityPools[] = ["base", "wide"];

/** Kinds whose values the environments do not constrain (free names, words and handles). */
const WIDENED: ReadonlySet<EntityKind> = new Set([
  "folder",
  "newFolder",
  "stem",
  "word",
  "person",
  "handle",
]);

const CONSONANTS = "bdfgklmnprstvz";
const VOWELS = "aeiou";

/**
 * Made-up words for the wide pools: consonant-vowel syllables drawn by a fixed generator, so
 * the list is the same on every machine and run. With hundreds of values per kind a model
 * cannot learn the values themselves and has to read them from the request.
 */
function madeUpWords(seed: number, count: number, syllables: readonly number[]): string[] {
  let s = seed >>> 0;
  const next = (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % n;
  };
  const out = new Set<string>();
  while (out.size < count) {
    let w = "";
    for (let i = syllables[next(syllables.length)]!; i > 0; i--) {
      w += CONSONANTS[next(CONSONANTS.length)]! + VOWELS[next(VOWELS.length)]!;
    }
    if (next(2) === 0) w += CONSONANTS[next(CONSONANTS.length)]!;
    out.add(w);
  }
  return [...out];
}

const WIDE_SIZE = 600;
const wideCache = new Map<EntityKind, readonly string[]>();

/**
 * The wide pool of a kind: its base values plus {@linkcode WIDE_SIZE} made-up ones of the
 * kind's shape (capitalised names for people, `a_b` handles, lower-case words otherwise).
 */
export function wideValues(kind: EntityKind): readonly string[] {
  const base: readonly string[] = ENTITY_POOLS[kind];
  if (!WIDENED.has(kind)) return base;
  let pool = wideCache.get(kind);
  if (!pool) {
    const seed = [...kind].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261);
    const words = madeUpWords(seed, WIDE_SIZE, [2, 2, 3]);
    const made = kind === "person"
      ? words.map((w) => w[0]!.toUpperCase() + w.slice(1))
      : kind === "handle"
      ? words.map((w, i) => `${w.slice(0, 3)}_${words[(i * 7 + 3) % words.length]!.slice(0, 4)}`)
      : words;
    pool = [...new Set([...base, ...made])];
    wideCache.set(kind, pool);
  }
  return pool;
}

/** The values of `kind` that `split` may use, from the `pools` named. */
export function splitPool(
  kind: EntityKind,
  split: Split,
  pools: EntityPools = "base",
): readonly string[] {
  const pool = pools === "wide" ? wideValues(kind) : ENTITY_POOLS[kind];
  if (UNSPLIT.has(kind)) return pool;
  return pool.filter((v) => isTestValue(v) === (split === "test"));
}

/**
 * Whether a value belongs to the test split: by a hash of the value itself (FNV-1a), so a value
 * that appears in two pools (a city) lands in the same split in both.
 */
export function isTestValue(value: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 4 === 3;
}

/** Whether `kind` is split by value. */
export function isSplitKind(kind: EntityKind): boolean {
  return !UNSPLIT.has(kind);
}

/** Draws one value of `kind` for `split`, avoiding `exclude` when possible. */
export function drawEntity(
  rng: PyRandom,
  kind: EntityKind,
  split: Split,
  exclude: ReadonlySet<string> = new Set(),
  pools: EntityPools = "base",
): string {
  const pool = splitPool(kind, split, pools);
  const free = pool.filter((v) => !exclude.has(v));
  const from = free.length > 0 ? free : pool;
  return from[rng.randintNumber(0, from.length - 1)]!;
}
