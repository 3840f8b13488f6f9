/**
 * BFCL `GorillaFileSystem` (HEAD semantics, see docs/bfcl-spec.md §5.1).
 * @module
 */
import {
  compareStrings,
  formatFixed,
  isPyKey,
  pyContains,
  PyDict,
  PyError,
  pyGt,
  pyLen,
  pySplitlines,
  pySplitWhitespace,
  pyStr,
  pyStrip,
  pyTruthy,
  pyTypeName,
  type PyValue,
  requireStr,
} from "@parlmt/pycompat";
import { type BfclEnv, dict, type MethodDef, params, type ParamSpec } from "./bfcl_env.ts";
import { longContext } from "./long_context.ts";

const INVALID_NAME_CHARS = '|/\\?%*:"><';
const MAX_RECURSION = 900;

/** A file: equality compares name and content. */
class FsFile {
  name: string;
  content: string;
  constructor(name: string, content: string) {
    this.name = name;
    this.content = content;
  }
}

/** A directory: equality compares name and contents (order-insensitive); `parent` is not compared. */
class FsDirectory {
  name: string;
  parent: FsDirectory | null;
  contents: Map<string, FsFile | FsDirectory> = new Map();
  constructor(name: string, parent: FsDirectory | null) {
    this.name = name;
    this.parent = parent;
  }

  addFile(name: string, content = ""): void {
    if (this.contents.has(name)) {
      throw new PyError("ValueError", `File '${name}' already exists in directory '${this.name}'.`);
    }
    this.contents.set(name, new FsFile(name, content));
  }

  addDirectory(name: string): void {
    if (this.contents.has(name)) {
      throw new PyError(
        "ValueError",
        `Directory '${name}' already exists in directory '${this.name}'.`,
      );
    }
    this.contents.set(name, new FsDirectory(name, this));
  }

  getItem(name: string): FsFile | FsDirectory | undefined {
    return name === "." ? this : this.contents.get(name);
  }
}

function recursionError(): PyError {
  return new PyError("RecursionError", "maximum recursion depth exceeded");
}

function dirEquals(a: FsDirectory, b: FsDirectory, depth = 0): boolean {
  if (a === b) return true;
  if (depth > MAX_RECURSION) throw recursionError();
  if (a.name !== b.name || a.contents.size !== b.contents.size) return false;
  for (const [k, x] of a.contents) {
    const y = b.contents.get(k);
    if (y === undefined) return false;
    if (x instanceof FsFile) {
      if (!(y instanceof FsFile) || x.name !== y.name || x.content !== y.content) return false;
    } else if (!(y instanceof FsDirectory) || !dirEquals(x, y, depth + 1)) return false;
  }
  return true;
}

/** Python `x in dir.contents` for an arbitrary value (unhashable values raise). */
function has(dir: FsDirectory, key: PyValue): key is string {
  if (typeof key === "string") return dir.contents.has(key);
  if (!isPyKey(key)) throw new PyError("TypeError", `unhashable type: '${pyTypeName(key)}'`);
  return false;
}

/** `_validate_file_or_directory_name`: `any(c in name for c in '|/\\?%*:"><')`. */
function validName(name: PyValue): boolean {
  for (const c of INVALID_NAME_CHARS) if (pyContains(name, c)) return false;
  return true;
}

function encodeNode(node: FsFile | FsDirectory, stack: Set<FsDirectory>): PyDict {
  if (node instanceof FsFile) {
    return dict(["__File__", dict(["name", node.name], ["content", node.content])]);
  }
  const contents = new PyDict();
  if (stack.has(node) || stack.size > MAX_RECURSION) contents.set("__cycle__", true);
  else {
    stack.add(node);
    for (const [k, v] of node.contents) contents.set(k, encodeNode(v, stack));
    stack.delete(node);
  }
  return dict(["__Directory__", dict(["name", node.name], ["contents", contents])]);
}

/** The BFCL file system: a tree of directories and files with a current directory. */
export class GorillaFileSystem implements BfclEnv {
  /** The Python class name. */
  readonly className = "GorillaFileSystem";
  #root: FsDirectory = new FsDirectory("/", null);
  #currentDir: FsDirectory = this.#root;
  #longContext = false;

  loadScenario(scenario: PyDict, longContext: boolean): void {
    this.#longContext = longContext;
    this.#root = new FsDirectory("/", null);
    const root = scenario.get("root");
    if (root instanceof PyDict && root.size > 0) {
      const [name, spec] = root.entries().next().value as [string, PyValue];
      const contents = spec instanceof PyDict ? spec.get("contents") : undefined;
      this.#root = this.#loadDirectory(
        contents instanceof PyDict ? contents : new PyDict(),
        new FsDirectory(String(name), null),
      );
    }
    this.#currentDir = this.#root;
  }

  #loadDirectory(current: PyDict, parent: FsDirectory): FsDirectory {
    let bottommost = true;
    for (const [name, data] of current) {
      if (!(data instanceof PyDict)) continue;
      const key = String(name);
      if (data.get("type") === "directory") {
        bottommost = false;
        const contents = data.get("contents");
        const dir = this.#loadDirectory(
          contents instanceof PyDict ? contents : new PyDict(),
          new FsDirectory(key, parent),
        );
        parent.contents.set(key, dir);
      } else if (data.get("type") === "file") {
        let content = pyStr(data.get("content") ?? "");
        if (this.#longContext && !longContext().FILES_TAIL_USED.includes(key)) {
          content += longContext().FILE_CONTENT_EXTENSION;
        }
        parent.contents.set(key, new FsFile(key, content));
      }
    }
    if (bottommost && this.#longContext) {
      for (const name of longContext().POPULATE_FILE_EXTENSION) parent.addFile(name);
    }
    return parent;
  }

  methodNames(): readonly string[] {
    return Object.keys(METHODS);
  }

  signature(name: string): readonly ParamSpec[] | undefined {
    return Object.hasOwn(METHODS, name) ? METHODS[name]!.params : undefined;
  }

  invoke(name: string, args: PyValue[]): PyValue {
    return METHODS[name]!.impl(this, args);
  }

  publicState(): [string, PyValue][] {
    return [["long_context", this.#longContext], ["root", encodeNode(this.#root, new Set())]];
  }

  clone(): GorillaFileSystem {
    const copy = new GorillaFileSystem();
    const memo = new Map<FsFile | FsDirectory | Map<string, FsFile | FsDirectory>, unknown>();
    const cloneNode = <T extends FsFile | FsDirectory>(n: T): T => {
      const seen = memo.get(n);
      if (seen) return seen as T;
      if (n instanceof FsFile) {
        const f = new FsFile(n.name, n.content);
        memo.set(n, f);
        return f as T;
      }
      const d = new FsDirectory(n.name, null);
      memo.set(n, d);
      d.parent = n.parent ? cloneNode(n.parent) : null;
      const sharedContents = memo.get(n.contents) as Map<string, FsFile | FsDirectory> | undefined;
      if (sharedContents) d.contents = sharedContents;
      else {
        memo.set(n.contents, d.contents);
        for (const [k, v] of n.contents) d.contents.set(k, cloneNode(v));
      }
      return d as T;
    };
    copy.#longContext = this.#longContext;
    copy.#root = cloneNode(this.#root);
    copy.#currentDir = cloneNode(this.#currentDir);
    return copy;
  }

  #navigate(path: PyValue): FsDirectory | PyDict {
    if (path === null || path === ".") return this.#currentDir;
    if (path === "/") return this.#root;
    const p = requireStr(path, "strip");
    let dir = p.startsWith("/") ? this.#root : this.#currentDir;
    for (const part of pyStrip(p, "/").split("/")) {
      const next = dir.getItem(part);
      if (!(next instanceof FsDirectory)) {
        return dict(["error", `cd: '${p}': No such file or directory`]);
      }
      dir = next;
    }
    return dir;
  }

  #file(name: PyValue): FsFile | undefined {
    if (!has(this.#currentDir, name)) return undefined;
    const item = this.#currentDir.getItem(name);
    return item instanceof FsFile ? item : undefined;
  }

  pwd(): PyValue {
    const path: string[] = [];
    for (let d: FsDirectory | null = this.#currentDir; d !== null; d = d.parent) {
      path.push(d.name);
      if (path.length > 100_000) throw recursionError();
    }
    return dict(["current_working_directory", "/" + path.reverse().join("/")]);
  }

  ls(a: PyValue): PyValue {
    let names = [...this.#currentDir.contents.keys()];
    if (!pyTruthy(a)) names = names.filter((n) => !n.startsWith("."));
    return dict(["current_directory_content", names]);
  }

  cd(folderArg: PyValue): PyValue {
    let folder = pyStrip(requireStr(folderArg, "rstrip"), "/", "right");
    if (folder === "") folder = "/";
    if (folder !== "." && folder !== ".." && folder !== "/" && folder.includes("/")) {
      return dict([
        "error",
        `cd: ${folder}: Unsupported path. Only one folder level at a time is supported.`,
      ]);
    }
    if (folder === "..") {
      const parent = this.#currentDir.parent;
      if (parent) this.#currentDir = parent;
      else if (dirEquals(this.#root, this.#currentDir)) {
        return dict(["error", "Current directory is already the root. Cannot go back."]);
      } else return dict(["error", "cd: ..: No such directory"]);
      return new PyDict();
    }
    const target = this.#navigate(folder);
    if (target instanceof PyDict) return target;
    this.#currentDir = target;
    return dict(["current_working_directory", target.name]);
  }

  mkdir(name: PyValue): PyValue {
    if (!validName(name)) {
      return dict(["error", `mkdir: cannot create directory '${pyStr(name)}': Invalid character`]);
    }
    if (has(this.#currentDir, name)) {
      return dict(["error", `mkdir: cannot create directory '${name}': File exists`]);
    }
    this.#currentDir.addDirectory(requireStr(name, "__hash__"));
    return null;
  }

  touch(name: PyValue): PyValue {
    if (!validName(name)) {
      return dict(["error", `touch: cannot touch '${pyStr(name)}': Invalid character`]);
    }
    if (has(this.#currentDir, name)) {
      return dict(["error", `touch: cannot touch '${name}': File exists`]);
    }
    this.#currentDir.addFile(requireStr(name, "__hash__"));
    return null;
  }

  echo(content: PyValue, fileName: PyValue): PyValue {
    if (fileName === null) return dict(["terminal_output", content]);
    if (!validName(fileName)) {
      return dict(["error", `echo: cannot write to '${pyStr(fileName)}': Invalid character`]);
    }
    if (!pyTruthy(fileName)) return dict(["terminal_output", content]);
    if (!has(this.#currentDir, fileName)) {
      return dict(["error", `echo: cannot write to '${pyStr(fileName)}': No such file`]);
    }
    const item = this.#currentDir.getItem(fileName);
    if (!(item instanceof FsFile)) {
      throw new PyError("AttributeError", "'Directory' object has no attribute '_write'");
    }
    if (typeof content !== "string") {
      // Python stores any object; keep the observable text (`cat` would return it as is).
      item.content = pyStr(content);
    } else item.content = content;
    return null;
  }

  cat(name: PyValue): PyValue {
    if (!validName(name)) return dict(["error", `cat: '${pyStr(name)}': Invalid character`]);
    if (has(this.#currentDir, name)) {
      const item = this.#currentDir.getItem(name);
      if (item instanceof FsFile) return dict(["file_content", item.content]);
      return dict(["error", `cat: '${name}': Is a directory`]);
    }
    return dict(["error", `cat: '${pyStr(name)}': No such file or directory`]);
  }

  find(path: PyValue, name: PyValue): PyValue {
    const target = this.#navigate(path);
    if (target instanceof PyDict) {
      return dict(["error", `find: '${pyStr(path)}': No such file or directory`]);
    }
    const matches: string[] = [];
    const search = (dir: FsDirectory, base: string, depth: number) => {
      if (depth > MAX_RECURSION) throw recursionError();
      for (const [itemName, item] of dir.contents) {
        const itemPath = `${base}/${itemName}`;
        if (name === null || pyContains(itemName, name)) matches.push(itemPath);
        if (item instanceof FsDirectory) search(item, itemPath, depth + 1);
      }
    };
    search(target, pyStrip(requireStr(path, "rstrip"), "/", "right"), 0);
    return dict(["matches", matches]);
  }

  wc(name: PyValue, mode: PyValue): PyValue {
    if (mode !== "l" && mode !== "w" && mode !== "c") {
      return dict(["error", `wc: invalid mode '${pyStr(mode)}'`]);
    }
    const file = this.#file(name);
    if (file) {
      if (mode === "l") {
        return dict(["count", BigInt(pySplitlines(file.content).length)], ["type", "lines"]);
      }
      if (mode === "w") {
        return dict(["count", BigInt(pySplitWhitespace(file.content).length)], ["type", "words"]);
      }
      return dict(["count", BigInt(pyLen(file.content))], ["type", "characters"]);
    }
    return dict(["error", `wc: ${pyStr(name)}: No such file or directory`]);
  }

  sort(name: PyValue): PyValue {
    const file = this.#file(name);
    if (!file) return dict(["error", `sort: ${pyStr(name)}: No such file or directory`]);
    const lines = pySplitlines(file.content).sort(compareStrings);
    return dict(["sorted_content", lines.join("\n")]);
  }

  grep(name: PyValue, pattern: PyValue): PyValue {
    const file = this.#file(name);
    if (!file) return dict(["error", `grep: ${pyStr(name)}: No such file or directory`]);
    const lines = pySplitlines(file.content).filter((l) => pyContains(l, pattern));
    return dict(["matching_lines", lines]);
  }

  du(humanReadable: PyValue): PyValue {
    const encoder = new TextEncoder();
    const size = (item: FsFile | FsDirectory, depth: number): number => {
      if (depth > MAX_RECURSION) throw recursionError();
      if (item instanceof FsFile) return encoder.encode(item.content).length;
      let total = 0;
      for (const child of item.contents.values()) total += size(child, depth + 1);
      return total;
    };
    let total = size(this.#currentDir, 0);
    if (!pyTruthy(humanReadable)) return dict(["disk_usage", `${total} bytes`]);
    for (const unit of ["B", "KB", "MB", "GB", "TB"]) {
      if (total < 1024) return dict(["disk_usage", `${formatFixed(total, 2)} ${unit}`]);
      total /= 1024;
    }
    return dict(["disk_usage", `${formatFixed(total, 2)} PB`]);
  }

  tail(name: PyValue, linesArg: PyValue): PyValue {
    const file = this.#file(name);
    if (!file) return dict(["error", `tail: ${pyStr(name)}: No such file or directory`]);
    const content = pySplitlines(file.content);
    let lines = linesArg;
    if (pyGt(lines, BigInt(content.length))) lines = BigInt(content.length);
    if (typeof lines === "boolean") lines = lines ? 1n : 0n;
    if (typeof lines !== "bigint") {
      throw new PyError(
        "TypeError",
        "slice indices must be integers or None or have an __index__ method",
      );
    }
    let start = -Number(lines);
    if (start < 0) start = Math.max(0, start + content.length);
    return dict(["last_lines", content.slice(Math.min(start, content.length)).join("\n")]);
  }

  diff(name1: PyValue, name2: PyValue): PyValue {
    const f1 = has(this.#currentDir, name1) && has(this.#currentDir, name2)
      ? this.#currentDir.getItem(name1)
      : undefined;
    const f2 = f1 ? this.#currentDir.getItem(name2 as string) : undefined;
    if (f1 instanceof FsFile && f2 instanceof FsFile) {
      const a = pySplitlines(f1.content);
      const b = pySplitlines(f2.content);
      const out: string[] = [];
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        if (a[i] !== b[i]) out.push(`- ${a[i]}\n+ ${b[i]}`);
      }
      return dict(["diff_lines", out.join("\n")]);
    }
    return dict([
      "error",
      `diff: ${pyStr(name1)} or ${pyStr(name2)}: No such file or directory`,
    ]);
  }

  #moveOrCopy(op: "mv" | "cp", source: PyValue, destination: PyValue): PyValue {
    const verb = op === "mv" ? "move" : "copy";
    const cur = this.#currentDir;
    if (!has(cur, source)) {
      return dict(["error", `${op}: cannot ${verb} '${pyStr(source)}': No such file or directory`]);
    }
    const item = cur.getItem(source)!;
    if (pyContains(destination, "/")) {
      return dict([
        "error",
        `${op}: path not allowed in destination. Provide only a file or directory name.`,
      ]);
    }
    const dest = requireStr(destination, "__hash__");
    const done = op === "mv" ? "moved" : "copied";
    if (cur.contents.has(dest)) {
      const destItem = cur.getItem(dest);
      if (!(destItem instanceof FsDirectory)) {
        return dict(["error", `${op}: cannot ${verb} '${source}' to '${dest}': Not a directory`]);
      }
      if (op === "mv" && destItem.contents.has(source)) {
        return dict(["error", `mv: cannot move '${source}' to '${dest}/${source}': File exists`]);
      }
      if (op === "mv") cur.contents.delete(source);
      this.#place(item, destItem, source, op);
      return dict(["result", `'${source}' ${done} to '${dest}/${source}'`]);
    }
    if (op === "mv") cur.contents.delete(source);
    this.#place(item, cur, dest, op);
    return dict(["result", `'${source}' ${done} to '${dest}'`]);
  }

  #place(item: FsFile | FsDirectory, into: FsDirectory, name: string, op: "mv" | "cp"): void {
    if (item instanceof FsFile) {
      into.addFile(name, item.content);
      return;
    }
    into.addDirectory(name);
    const created = into.contents.get(name) as FsDirectory;
    created.contents = op === "mv" ? item.contents : new Map(item.contents);
  }

  mv(source: PyValue, destination: PyValue): PyValue {
    return this.#moveOrCopy("mv", source, destination);
  }

  cp(source: PyValue, destination: PyValue): PyValue {
    return this.#moveOrCopy("cp", source, destination);
  }

  rm(name: PyValue): PyValue {
    if (has(this.#currentDir, name)) {
      this.#currentDir.contents.delete(name);
      return dict(["result", `'${name}' removed`]);
    }
    return dict(["error", `rm: cannot remove '${pyStr(name)}': No such file or directory`]);
  }

  rmdir(name: PyValue): PyValue {
    if (!has(this.#currentDir, name)) {
      return dict(["error", `rmdir: cannot remove '${pyStr(name)}': No such file or directory`]);
    }
    const item = this.#currentDir.getItem(name);
    if (!(item instanceof FsDirectory)) {
      return dict(["error", `rmdir: cannot remove '${name}': Not a directory`]);
    }
    if (item.contents.size > 0) {
      return dict(["error", `rmdir: cannot remove '${name}': Directory not empty`]);
    }
    this.#currentDir.contents.delete(name);
    return dict(["result", `'${name}' removed`]);
  }
}

type Fs = GorillaFileSystem;
const METHODS: Record<string, MethodDef<Fs>> = {
  cat: { params: params(["file_name"]), impl: (s, a) => s.cat(a[0]!) },
  cd: { params: params(["folder"]), impl: (s, a) => s.cd(a[0]!) },
  cp: { params: params(["source"], ["destination"]), impl: (s, a) => s.cp(a[0]!, a[1]!) },
  diff: { params: params(["file_name1"], ["file_name2"]), impl: (s, a) => s.diff(a[0]!, a[1]!) },
  du: { params: params(["human_readable", false]), impl: (s, a) => s.du(a[0]!) },
  echo: { params: params(["content"], ["file_name", null]), impl: (s, a) => s.echo(a[0]!, a[1]!) },
  find: { params: params(["path", "."], ["name", null]), impl: (s, a) => s.find(a[0]!, a[1]!) },
  grep: { params: params(["file_name"], ["pattern"]), impl: (s, a) => s.grep(a[0]!, a[1]!) },
  ls: { params: params(["a", false]), impl: (s, a) => s.ls(a[0]!) },
  mkdir: { params: params(["dir_name"]), impl: (s, a) => s.mkdir(a[0]!) },
  mv: { params: params(["source"], ["destination"]), impl: (s, a) => s.mv(a[0]!, a[1]!) },
  pwd: { params: params(), impl: (s) => s.pwd() },
  rm: { params: params(["file_name"]), impl: (s, a) => s.rm(a[0]!) },
  rmdir: { params: params(["dir_name"]), impl: (s, a) => s.rmdir(a[0]!) },
  sort: { params: params(["file_name"]), impl: (s, a) => s.sort(a[0]!) },
  tail: { params: params(["file_name"], ["lines", 10n]), impl: (s, a) => s.tail(a[0]!, a[1]!) },
  touch: { params: params(["file_name"]), impl: (s, a) => s.touch(a[0]!) },
  wc: { params: params(["file_name"], ["mode", "l"]), impl: (s, a) => s.wc(a[0]!, a[1]!) },
};
