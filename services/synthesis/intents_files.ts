/** Curriculum intents of GorillaFileSystem and MathAPI. */
import { field, type Intent, type IntentContext, numberText, q } from "./intent.ts";

function toRoot(ctx: IntentContext, calls: string[]): void {
  const cwd = ctx.facts.get("cwd") ?? "";
  if (cwd !== "") {
    const call = "cd(folder='..')";
    ctx.run(call);
    calls.push(call);
    ctx.facts.set("cwd", "");
  }
}

function inFileDir(ctx: IntentContext): string {
  const file = ctx.facts.get("file");
  if (file === undefined || ctx.facts.get("fileDir") !== (ctx.facts.get("cwd") ?? "")) {
    throw new RangeError("Cannot use the remembered file: not in its folder");
  }
  return file;
}

/** GorillaFileSystem intents. */
export const FILE_INTENTS: readonly Intent[] = [
  {
    id: "fs.find_cat",
    cls: "GorillaFileSystem",
    maxCalls: 4,
    depth: 2,
    build(ctx) {
      const calls: string[] = [];
      toRoot(ctx, calls);
      const files = (ctx.facts.get("treeFiles") ?? "").split(" ").filter(Boolean);
      if (files.length === 0) throw new RangeError("Cannot find a file: the tree has none");
      const path = ctx.choice(files); // "folder/stem.ext"
      const [folder, name] = path.split("/") as [string, string];
      const stem = name.split(".")[0]!;
      const findCall = `find(path='.', name=${q(stem)})`;
      const matches = field(ctx.peek(findCall), "matches") as string[];
      if (matches.length !== 1) throw new RangeError(`Cannot find "${stem}" uniquely`);
      ctx.run(findCall);
      ctx.run(`cd(folder=${q(folder)})`);
      const content = field(ctx.run(`cat(file_name=${q(name)})`), "file_content") as string;
      calls.push(findCall, `cd(folder=${q(folder)})`, `cat(file_name=${q(name)})`);
      ctx.facts.set("cwd", folder);
      ctx.facts.set("file", name);
      ctx.facts.set("fileDir", folder);
      ctx.facts.set("words", content);
      return { slots: { stem }, calls };
    },
  },
  {
    id: "fs.ls_wc",
    cls: "GorillaFileSystem",
    maxCalls: 4,
    depth: 1,
    build(ctx) {
      const calls: string[] = [];
      toRoot(ctx, calls);
      const folders = (ctx.facts.get("treeFolders") ?? "").split(" ").filter(Boolean);
      const folder = ctx.choice(folders);
      ctx.run(`cd(folder=${q(folder)})`);
      const list = field(ctx.run("ls()"), "current_directory_content") as string[];
      const files = list.filter((n) => n.includes("."));
      if (files.length === 0) throw new RangeError(`Cannot count words: "${folder}" has no file`);
      const name = files[0]!;
      ctx.run(`wc(file_name=${q(name)}, mode='w')`);
      calls.push(`cd(folder=${q(folder)})`, "ls()", `wc(file_name=${q(name)}, mode='w')`);
      ctx.facts.set("cwd", folder);
      ctx.facts.set("file", name);
      ctx.facts.set("fileDir", folder);
      ctx.facts.delete("words");
      return { slots: { folder }, calls };
    },
  },
  {
    id: "fs.new_note",
    cls: "GorillaFileSystem",
    maxCalls: 2,
    depth: 0,
    build(ctx) {
      const file = `${ctx.draw("stem")}_${ctx.draw("word")}.${ctx.draw("ext")}`;
      const text = `${ctx.draw("word")} ${ctx.draw("word")}`;
      ctx.run(`touch(file_name=${q(file)})`);
      ctx.run(`echo(content=${q(text)}, file_name=${q(file)})`);
      ctx.facts.set("file", file);
      ctx.facts.set("fileDir", ctx.facts.get("cwd") ?? "");
      ctx.facts.set("words", text);
      return {
        slots: { file, text },
        calls: [`touch(file_name=${q(file)})`, `echo(content=${q(text)}, file_name=${q(file)})`],
        ask: { slot: "text", label: "text" },
      };
    },
  },
  {
    id: "fs.mkdir_mv",
    cls: "GorillaFileSystem",
    maxCalls: 2,
    depth: 1,
    needs: ["file"],
    build(ctx) {
      const file = inFileDir(ctx);
      const dir = ctx.draw("newFolder");
      ctx.run(`mkdir(dir_name=${q(dir)})`);
      ctx.run(`mv(source=${q(file)}, destination=${q(dir)})`);
      ctx.facts.delete("file");
      return {
        slots: { dir },
        calls: [`mkdir(dir_name=${q(dir)})`, `mv(source=${q(file)}, destination=${q(dir)})`],
        ask: { slot: "dir", label: "folder name" },
      };
    },
  },
  {
    id: "fs.copy",
    cls: "GorillaFileSystem",
    maxCalls: 1,
    depth: 1,
    needs: ["file"],
    build(ctx) {
      const file = inFileDir(ctx);
      const copy = `${ctx.draw("stem")}_copy.${file.split(".").pop()}`;
      ctx.run(`cp(source=${q(file)}, destination=${q(copy)})`);
      return {
        slots: { copy },
        calls: [`cp(source=${q(file)}, destination=${q(copy)})`],
        ask: { slot: "copy", label: "file name" },
      };
    },
  },
  {
    id: "fs.grep",
    cls: "GorillaFileSystem",
    maxCalls: 1,
    depth: 1,
    needs: ["file", "words"],
    build(ctx) {
      const file = inFileDir(ctx);
      const word = ctx.choice((ctx.facts.get("words") ?? "").split(" ").filter(Boolean));
      ctx.run(`grep(file_name=${q(file)}, pattern=${q(word)})`);
      return { slots: { word }, calls: [`grep(file_name=${q(file)}, pattern=${q(word)})`] };
    },
  },
];

function nums(ctx: IntentContext, n: number): number[] {
  return Array.from({ length: n }, () => Number(ctx.draw("smallInt")));
}

function setNum(ctx: IntentContext, _result: unknown): void {
  ctx.facts.set("num", numberText(ctx.lastText, "result"));
}

/** MathAPI intents. */
export const MATH_INTENTS: readonly Intent[] = [
  {
    id: "math.mean",
    cls: "MathAPI",
    maxCalls: 1,
    depth: 0,
    build(ctx) {
      const xs = nums(ctx, 3);
      const call = `mean(numbers=[${xs.join(", ")}])`;
      setNum(ctx, ctx.run(call));
      return {
        slots: { nums: xs.join(", ") },
        calls: [call],
        ask: { slot: "nums", label: "numbers" },
      };
    },
  },
  {
    id: "math.percent",
    cls: "MathAPI",
    maxCalls: 1,
    depth: 0,
    build(ctx) {
      const [a, b] = nums(ctx, 2) as [number, number];
      const call = `percentage(part=${Math.min(a, b)}, whole=${Math.max(a, b) + 1})`;
      setNum(ctx, ctx.run(call));
      return {
        slots: { part: String(Math.min(a, b)), whole: String(Math.max(a, b) + 1) },
        calls: [call],
      };
    },
  },
  {
    id: "math.max_sqrt",
    cls: "MathAPI",
    maxCalls: 2,
    depth: 1,
    build(ctx) {
      const xs = nums(ctx, 3);
      const first = `max_value(numbers=[${xs.join(", ")}])`;
      ctx.run(first);
      const m = numberText(ctx.lastText, "result");
      const second = `square_root(number=${m}, precision=2)`;
      ctx.run(second);
      ctx.facts.delete("num");
      return { slots: { nums: xs.join(", ") }, calls: [first, second] };
    },
  },
  {
    id: "math.add",
    cls: "MathAPI",
    maxCalls: 1,
    depth: 1,
    needs: ["num"],
    build(ctx) {
      const n = ctx.draw("smallInt");
      const call = `add(a=${ctx.facts.get("num")}, b=${n})`;
      setNum(ctx, ctx.run(call));
      return { slots: { n }, calls: [call], ask: { slot: "n", label: "number" } };
    },
  },
  {
    id: "math.multiply",
    cls: "MathAPI",
    maxCalls: 1,
    depth: 1,
    needs: ["num"],
    build(ctx) {
      const n = ctx.draw("smallInt");
      const call = `multiply(a=${ctx.facts.get("num")}, b=${n})`;
      setNum(ctx, ctx.run(call));
      return { slots: { n }, calls: [call], ask: { slot: "n", label: "number" } };
    },
  },
];
