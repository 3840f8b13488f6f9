/**
 * CPython's `random.Random`: MT19937 seeded with `init_by_array`, and the methods built on
 * `getrandbits`/`random()` exactly as CPython 3.11 implements them.
 * @module
 */

const N = 624;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}
const M = 397;

/** A bit-exact port of CPython's `random.Random(seed)` for integer seeds. */
export class PyRandom {
  #mt = new Uint32Array(N);
  #index = N + 1;

  /** `random.Random(seed)`; the seed is an int (`number` must be an integer, or a `bigint`). */
  constructor(seed: number | bigint) {
    this.seed(seed);
  }

  /** `seed(n)` for an int `n` (CPython uses the 32-bit chunks of `abs(n)`). */
  seed(seed: number | bigint): void {
    if (typeof seed === "number" && !Number.isInteger(seed)) {
      throw new TypeError(`Cannot seed PyRandom with ${seed}: only integer seeds are supported`);
    }
    let n = BigInt(seed);
    if (n < 0n) n = -n;
    const key: number[] = [];
    while (n > 0n) {
      key.push(Number(n & 0xffffffffn));
      n >>= 32n;
    }
    if (key.length === 0) key.push(0);
    this.#initByArray(key);
  }

  #initGenrand(s: number): void {
    const mt = this.#mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.#index = N;
  }

  #initByArray(key: number[]): void {
    this.#initGenrand(19650218);
    const mt = this.#mt;
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  /** One tempered 32-bit output (`genrand_uint32`). */
  nextUint32(): number {
    const mt = this.#mt;
    if (this.#index >= N) {
      for (let kk = 0; kk < N; kk++) {
        const y = (mt[kk]! & 0x80000000) | (mt[(kk + 1) % N]! & 0x7fffffff);
        mt[kk] = mt[(kk + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.#index = 0;
    }
    let y = mt[this.#index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `random()`: a float in [0, 1) with 53 random bits. */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** `getrandbits(k)` */
  getrandbits(k: number): bigint {
    if (!Number.isInteger(k) || k < 0) throw new RangeError("number of bits must be non-negative");
    if (k === 0) return 0n;
    if (k <= 32) return BigInt(this.nextUint32() >>> (32 - k));
    let result = 0n;
    let shift = 0n;
    for (let remaining = k; remaining > 0; remaining -= 32) {
      let r = this.nextUint32();
      if (remaining < 32) r >>>= 32 - remaining;
      result |= BigInt(r) << shift;
      shift += 32n;
    }
    return result;
  }

  /** `_randbelow(n)` (rejection sampling on `getrandbits(n.bit_length())`). */
  randbelow(n: number | bigint): bigint {
    const big = BigInt(n);
    if (big <= 0n) throw new RangeError(`Cannot draw below ${big}: the bound must be positive`);
    const k = big.toString(2).length;
    if (k <= 32) {
      const bound = Number(big);
      let r = this.nextUint32() >>> (32 - k);
      while (r >= bound) r = this.nextUint32() >>> (32 - k);
      return BigInt(r);
    }
    let r = this.getrandbits(k);
    while (r >= big) r = this.getrandbits(k);
    return r;
  }

  /** `randrange(start, stop, step)`; with one argument, `randrange(stop)`. */
  randrange(start: number | bigint, stop?: number | bigint, step: number | bigint = 1n): bigint {
    const istart = BigInt(start);
    if (stop === undefined) {
      if (istart > 0n) return this.randbelow(istart);
      throw new RangeError("empty range for randrange()");
    }
    const istop = BigInt(stop);
    const istep = BigInt(step);
    const width = istop - istart;
    if (istep === 1n) {
      if (width > 0n) return istart + this.randbelow(width);
      throw new RangeError(`empty range for randrange() (${istart}, ${istop}, ${width})`);
    }
    if (istep === 0n) throw new RangeError("zero step for randrange()");
    const n = istep > 0n
      ? floorDiv(width + istep - 1n, istep)
      : floorDiv(width + istep + 1n, istep);
    if (n <= 0n) throw new RangeError("empty range for randrange()");
    return istart + istep * this.randbelow(n);
  }

  /** `randint(a, b)`: an int in [a, b]. */
  randint(a: number | bigint, b: number | bigint): bigint {
    return this.randrange(a, BigInt(b) + 1n);
  }

  /** `randint(a, b)` as a JS number (both bounds must be safe integers). */
  randintNumber(a: number, b: number): number {
    return Number(this.randint(a, b));
  }

  /** `uniform(a, b)`: `a + (b - a) * random()`. */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.random();
  }

  /** `choice(seq)` */
  choice<T>(seq: readonly T[]): T {
    if (seq.length === 0) throw new RangeError("Cannot choose from an empty sequence");
    return seq[Number(this.randbelow(seq.length))]!;
  }

  /** `shuffle(x)` in place. */
  shuffle<T>(x: T[]): void {
    for (let i = x.length - 1; i > 0; i--) {
      const j = Number(this.randbelow(i + 1));
      [x[i], x[j]] = [x[j]!, x[i]!];
    }
  }

  /** `sample(population, k)` */
  sample<T>(population: readonly T[], k: number): T[] {
    const n = population.length;
    if (!(k >= 0 && k <= n)) throw new RangeError("Sample larger than population or is negative");
    const result: T[] = new Array(k);
    let setsize = 21;
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4));
    if (n <= setsize) {
      const pool = [...population];
      for (let i = 0; i < k; i++) {
        const j = Number(this.randbelow(n - i));
        result[i] = pool[j]!;
        pool[j] = pool[n - i - 1]!;
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = Number(this.randbelow(n));
        while (selected.has(j)) j = Number(this.randbelow(n));
        selected.add(j);
        result[i] = population[j]!;
      }
    }
    return result;
  }

  /** The generator state, for forking an episode (see {@linkcode PyRandom.fromState}). */
  getState(): { mt: number[]; index: number } {
    return { mt: [...this.#mt], index: this.#index };
  }

  /** A generator continuing from a state returned by {@linkcode PyRandom.getState}. */
  static fromState(state: { mt: readonly number[]; index: number }): PyRandom {
    const r = new PyRandom(0);
    r.#mt.set(state.mt);
    r.#index = state.index;
    return r;
  }
}
