/** The committed generated code and descriptor set equal what `deno task gen` produces now. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const BUF = ["run", "-A", "npm:@bufbuild/buf@1.74.0"];

async function run(args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${dir}/${prefix}`)) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) files.push(...await listFiles(dir, rel));
    else files.push(rel);
  }
  return files.sort();
}

Deno.test("gen - shared/gen is up to date with proto/ (run `deno task gen` if this fails)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "parlmt-gen-" });
  try {
    await run([...BUF, "generate", "-o", tmp]);
    await run([...BUF, "build", "-o", `${tmp}/shared/gen/parlmt.binpb`]);
    const fresh = `${tmp}/shared/gen`;
    const committed = `${ROOT}shared/gen`;
    const names = await listFiles(fresh);
    assert.deepEqual(await listFiles(committed), names, "the same files");
    for (const name of names) {
      const a = await Deno.readFile(`${fresh}/${name}`);
      const b = await Deno.readFile(`${committed}/${name}`);
      assert.ok(a.length === b.length && a.every((x, i) => x === b[i]), `${name} is stale`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("gen - buf lint passes on proto/", async () => {
  await run([...BUF, "lint"]);
});
