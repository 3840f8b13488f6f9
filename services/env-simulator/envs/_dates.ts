/**
 * `datetime.strptime(s, "%Y-%m-%d")` as UTC milliseconds (naive datetimes, Python's errors).
 * @module
 */
import { PyError, pyTypeName, type PyValue, strRepr } from "@parlmt/pycompat";

/** Parse like `datetime.strptime(value, "%Y-%m-%d")` (accepts `2024-9-1`); midnight UTC ms. */
export function parseYmd(value: PyValue): number {
  if (typeof value !== "string") {
    throw new PyError("TypeError", `strptime() argument 1 must be str, not ${pyTypeName(value)}`);
  }
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(value);
  const bad = () =>
    new PyError("ValueError", `time data ${strRepr(value)} does not match format '%Y-%m-%d'`);
  if (!m) throw bad();
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) throw bad();
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d > days) throw new PyError("ValueError", "day is out of range for month");
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  return t.getTime();
}
