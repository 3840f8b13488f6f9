import assert from "node:assert/strict";

async function run(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./eval.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("eval:taubench rejects missing endpoints and bad flags with clear errors", async () => {
  let r = await run(["--domain", "retail"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--policy and --user are required/);
  r = await run([
    "--policy",
    "http://127.0.0.1:9/v1",
    "--user",
    "http://127.0.0.1:9/v1",
    "--domain",
    "shop",
  ]);
  assert.match(r.stderr, /Invalid value "shop" for --domain/);
  r = await run([
    "--policy",
    "http://127.0.0.1:9/v1",
    "--user",
    "http://127.0.0.1:9/v1",
    "--trials",
    "0",
  ]);
  assert.match(r.stderr, /Invalid value "0" for --trials/);
  r = await run([
    "--policy",
    "http://127.0.0.1:9/v1",
    "--user",
    "http://127.0.0.1:9/v1",
    "--tasks",
    "1,x",
  ]);
  assert.match(r.stderr, /Invalid task index "x"/);
});
