import assert from "node:assert/strict";
import { ProgressLine } from "./progress_line.ts";

Deno.test("ProgressLine draws one rewritten line and ends it", () => {
  const out: string[] = [];
  const p = new ProgressLine({ total: 10, write: (t) => out.push(t), enabled: true, width: 10 });
  assert.equal(
    p.format(5, { loss: 1.234567, "tok/s": 31000 }),
    "[#####-----]  50% step 5/10 loss 1.235 tok/s 31000",
  );
  p.update(5, { loss: 1 });
  p.done();
  assert.deepEqual(out, ["\r\x1b[2K[#####-----]  50% step 5/10 loss 1", "\n"]);
  const quiet: string[] = [];
  const q = new ProgressLine({ total: 3, write: (t) => quiet.push(t), enabled: false });
  q.update(1, {});
  q.done();
  assert.deepEqual(quiet, []);
});
