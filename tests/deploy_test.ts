/**
 * deploy/ against the code: renders the kustomize base and overlays with `kubectl kustomize`,
 * parses deploy/Dockerfile, and checks both against what the services really are. The services,
 * their names, config specs, env names and default ports are read from `services/<dir>/main.ts`
 * and its `config.ts`; nothing here repeats a service's field list.
 *
 * Set KUBECTL to use another kubectl binary. Without kubectl the tests fail (they do not skip).
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import { type ConfigSpec, envPrefix, parseConfig, upperSnakeCase } from "@parlmt/config";

const ROOT = new URL("../", import.meta.url);
const KUSTOMIZATIONS = [
  "deploy/k8s/base",
  "deploy/k8s/overlays/local",
  "deploy/k8s/overlays/scale",
];
/** Where the overlays put everything. */
const OVERLAY_NAMESPACE = "parlmt";
/** The upstream image of the weights bus. */
const NATS_IMAGE = "nats";
const NATS_CLIENT_PORT = 4222;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

// ---------------------------------------------------------------------------------------------
// The services, from the code.

/** A service as its code declares it. */
interface ServiceInfo {
  /** Folder under services/. */
  dir: string;
  /** The name passed to runService (env prefix, logs). */
  name: string;
  spec: ConfigSpec;
  /** Every environment variable the service's config reads. */
  envNames: Set<string>;
  grpcPort: number;
  adminPort: number;
}

async function discoverServices(): Promise<Map<string, ServiceInfo>> {
  const services = new Map<string, ServiceInfo>();
  for await (const entry of Deno.readDir(new URL("services/", ROOT))) {
    if (!entry.isDirectory) continue;
    const mainUrl = new URL(`services/${entry.name}/main.ts`, ROOT);
    const main = await Deno.readTextFile(mainUrl).catch(() => undefined);
    if (main === undefined || !main.includes("runService(")) continue;
    const name = /runService\(\{\s*name:\s*"([^"]+)"/.exec(main)?.[1];
    const specName = /\bspec:\s*([A-Za-z_][A-Za-z0-9_]*)\s*,/.exec(main)?.[1];
    assert.ok(
      name && specName,
      `services/${entry.name}/main.ts: cannot find runService's name/spec`,
    );
    assert.match(
      main,
      new RegExp(`import \\{[^}]*\\b${specName}\\b[^}]*\\} from "\\./config\\.ts"`),
      `services/${entry.name}/main.ts should import ${specName} from ./config.ts`,
    );
    const mod = await import(new URL(`services/${entry.name}/config.ts`, ROOT).href);
    const spec = mod[specName] as ConfigSpec | undefined;
    assert.ok(spec, `services/${entry.name}/config.ts does not export ${specName}`);
    const prefix = envPrefix(name);
    const envNames = new Set([
      `${prefix}_CONFIG`,
      ...Object.keys(spec).map((field) => `${prefix}_${upperSnakeCase(field)}`),
    ]);
    const grpcPort = spec.port?.default;
    const adminPort = spec.adminPort?.default;
    assert.ok(
      typeof grpcPort === "number" && typeof adminPort === "number",
      `services/${entry.name}: no default port/adminPort`,
    );
    services.set(entry.name, { dir: entry.name, name, spec, envNames, grpcPort, adminPort });
  }
  assert.ok(services.size > 0, "no services found under services/");
  return services;
}

// ---------------------------------------------------------------------------------------------
// deploy/Dockerfile.

/** One build stage. */
interface Stage {
  name: string;
  from: string;
  /** ENV of this stage and the stages it builds on. */
  env: Map<string, string>;
  expose: number[];
  cmd?: string[];
  runs: string[];
  user?: string;
}

/** Parses the instructions the checks need (FROM, ENV, EXPOSE, CMD, RUN, USER). */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\r?\n/g, " ").split(/\r?\n/).map((l) => l.trim());
  const stages: Stage[] = [];
  for (const line of lines) {
    if (line === "" || line.startsWith("#")) continue;
    const [instruction, ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    const stage = stages.at(-1);
    switch (instruction.toUpperCase()) {
      case "FROM": {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
        if (!m) throw new SyntaxError(`Dockerfile: cannot parse "FROM ${args}"`);
        const parent = stages.find((s) => s.name === m[1]);
        stages.push({
          name: m[2] ?? `stage${stages.length}`,
          from: m[1],
          env: new Map(parent?.env),
          expose: [...(parent?.expose ?? [])],
          cmd: parent?.cmd,
          runs: [...(parent?.runs ?? [])],
          user: parent?.user,
        });
        break;
      }
      case "ENV":
        if (!stage) throw new SyntaxError("Dockerfile: ENV before FROM");
        for (const pair of args.split(/\s+/)) {
          const eq = pair.indexOf("=");
          if (eq <= 0) throw new SyntaxError(`Dockerfile: use ENV KEY=VALUE, got "${pair}"`);
          stage.env.set(pair.slice(0, eq), pair.slice(eq + 1).replace(/^"(.*)"$/, "$1"));
        }
        break;
      case "EXPOSE":
        stage?.expose.push(...args.split(/\s+/).map((p) => Number(p.split("/")[0])));
        break;
      case "CMD":
        if (stage) stage.cmd = JSON.parse(args);
        break;
      case "RUN":
        stage?.runs.push(args);
        break;
      case "USER":
        if (stage) stage.user = args;
        break;
    }
  }
  return stages;
}

/** Checks the Dockerfile against the services; returns the problems found. */
function checkDockerfile(
  stages: Stage[],
  services: Map<string, ServiceInfo>,
  denoVersion: string,
): string[] {
  const problems: string[] = [];
  const base = stages[0];
  if (base?.from !== `denoland/deno:${denoVersion}`) {
    problems.push(
      `Dockerfile: first stage is FROM ${base?.from}, not denoland/deno:${denoVersion}`,
    );
  }
  for (const svc of services.values()) {
    const stage = stages.find((s) => s.name === svc.dir);
    if (!stage) {
      problems.push(`Dockerfile: no target "${svc.dir}"`);
      continue;
    }
    const entry = `services/${svc.dir}/main.ts`;
    if (JSON.stringify(stage.cmd) !== JSON.stringify(["deno", "run", "-A", entry])) {
      problems.push(
        `Dockerfile ${svc.dir}: CMD ${JSON.stringify(stage.cmd)} does not run ${entry}`,
      );
    }
    if (!stage.runs.some((r) => r.includes(`deno install --frozen --entrypoint ${entry}`))) {
      problems.push(`Dockerfile ${svc.dir}: does not cache ${entry} (deno install --entrypoint)`);
    }
    if (!stage.runs.some((r) => /\bdeno install --frozen\s*$/.test(r.split("&&")[0].trim()))) {
      problems.push(`Dockerfile ${svc.dir}: no plain "deno install --frozen" of the dependencies`);
    }
    for (const port of [svc.grpcPort, svc.adminPort]) {
      if (!stage.expose.includes(port)) {
        problems.push(`Dockerfile ${svc.dir}: does not EXPOSE ${port}`);
      }
    }
    const env: Record<string, string> = {};
    for (const [key, value] of stage.env) {
      if (key.startsWith("DENO_")) continue;
      if (!svc.envNames.has(key)) {
        problems.push(`Dockerfile ${svc.dir}: ENV ${key} is not read by ${svc.name}'s config`);
      } else env[key] = value;
    }
    try {
      const config = parseConfig(svc.name, svc.spec, [], env);
      if (LOOPBACK.has(String(config.host))) {
        problems.push(`Dockerfile ${svc.dir}: binds ${config.host}, unreachable from outside`);
      }
    } catch (err) {
      problems.push(`Dockerfile ${svc.dir}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** The paths the build needs (deno.json, deno.lock, every cached entrypoint) that .dockerignore drops. */
function ignoredButNeeded(dockerignore: string, stages: Stage[]): string[] {
  const patterns = dockerignore.split(/\r?\n/).map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith("!"))
    .map((glob) => {
      const body = glob.replace(/^\/+|\/+$/g, "").split("**/").map((part) =>
        part.split("*").map((t) => t.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")
      ).join("(?:.*/)?");
      return new RegExp(`^${body}(?:/.*)?$`);
    });
  const needed = new Set(["deno.json", "deno.lock"]);
  for (const stage of stages) {
    for (const run of stage.runs) {
      for (const m of run.matchAll(/--entrypoint\s+(\S+)/g)) needed.add(m[1]);
    }
  }
  return [...needed].filter((path) => patterns.some((re) => re.test(path)));
}

// ---------------------------------------------------------------------------------------------
// Kubernetes objects (the fields the checks read).

type Labels = Record<string, string>;
interface Meta {
  name: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Labels;
}
interface ContainerPort {
  name?: string;
  containerPort: number;
}
interface Probe {
  grpc?: { port: number; service?: string };
  httpGet?: { port: number | string; path?: string };
  tcpSocket?: { port: number | string };
  exec?: unknown;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string };
    secretKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: ContainerPort[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string }; prefix?: string }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Labels; limits?: Labels };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsUser?: number; runAsNonRoot?: boolean; fsGroup?: number };
}
interface WorkloadSpec {
  replicas?: number;
  serviceName?: string;
  selector: { matchLabels?: Labels; matchExpressions?: unknown[] };
  template: { metadata: Meta; spec: PodSpec };
  volumeClaimTemplates?: { metadata: Meta }[];
}
interface ServiceSpec {
  selector?: Labels;
  ports: { name?: string; port: number; targetPort?: number | string }[];
}
interface HpaSpec {
  scaleTargetRef: { apiVersion?: string; kind: string; name: string };
  minReplicas?: number;
  maxReplicas: number;
  metrics?: {
    type: string;
    resource?: { name: string; target: { type: string; averageUtilization?: number } };
  }[];
}
/** A rendered object. */
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec?: unknown;
  data?: Labels;
  stringData?: Labels;
}

const isWorkload = (o: K8sObject) => o.kind === "Deployment" || o.kind === "StatefulSet";
const workloadSpec = (o: K8sObject) => o.spec as WorkloadSpec;
const podSpec = (o: K8sObject) => workloadSpec(o).template.spec;
const podLabels = (o: K8sObject) => workloadSpec(o).template.metadata.labels ?? {};
const allContainers = (pod: PodSpec) => [...(pod.initContainers ?? []), ...pod.containers];
const where = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
const selects = (selector: Labels, labels: Labels) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Runs `kubectl kustomize DIR` and parses the documents. */
async function kustomize(dir: string): Promise<K8sObject[]> {
  const kubectl = Deno.env.get("KUBECTL") ?? "kubectl";
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(kubectl, {
      args: ["kustomize", dir],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot test deploy/: "${kubectl}" not found. Install kubectl (Debian: ` +
          "apt-get install kubernetes-client; `./run test` does it) or set KUBECTL.",
        { cause: err },
      );
    }
    throw err;
  }
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`kubectl kustomize ${dir} failed:\n${stderr}`);
  const docs = YAML.parseAllDocuments(new TextDecoder().decode(out.stdout));
  const objects: K8sObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${dir}: invalid YAML: ${doc.errors[0].message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

/** `250m` → 0.25, `2` → 2. */
function cpuCores(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
  if (!m) throw new RangeError(`bad cpu quantity "${q}"`);
  return Number(m[1]) / (m[2] ? 1000 : 1);
}

/** `256Mi` → bytes. */
function memoryBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(q);
  if (!m) throw new RangeError(`bad memory quantity "${q}"`);
  const unit: Record<string, number> = {
    "": 1,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Number(m[1]) * unit[m[2] ?? ""];
}

/** `reg:5000/parlmt/learner:dev` → { name: "learner", tag: "dev" }. */
function imageParts(image: string): { repo: string; name: string; tag: string } {
  const at = image.indexOf("@");
  const ref = at >= 0 ? image.slice(0, at) : image;
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  const repo = colon > slash ? ref.slice(0, colon) : ref;
  const tag = colon > slash ? ref.slice(colon + 1) : at >= 0 ? image.slice(at + 1) : "";
  return { repo, name: repo.slice(repo.lastIndexOf("/") + 1), tag };
}

/** The container port a probe or Service targets (by number or name), if declared. */
function resolvePort(ports: ContainerPort[], ref: number | string | undefined) {
  return ports.find((p) => (typeof ref === "number" ? p.containerPort === ref : p.name === ref));
}

/** The script of `deno run ... script.ts ...`. */
function denoScript(argv: string[]): string | undefined {
  if (argv[0] !== "deno" || argv[1] !== "run") return undefined;
  return argv.slice(2).find((a) => !a.startsWith("-") && /\.(ts|js)$/.test(a));
}

// ---------------------------------------------------------------------------------------------
// The checks of one rendering.

/** What the rendering checks need besides the objects. */
interface Context {
  services: Map<string, ServiceInfo>;
  stages: Stage[];
}

/** Checks the rendered objects; returns every problem found (empty: all good). */
function checkManifests(objects: K8sObject[], ctx: Context): string[] {
  const problems: string[] = [];
  const problem = (msg: string) => problems.push(msg);
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const workloads = objects.filter(isWorkload);
  const k8sServices = byKind("Service");
  const configMaps = new Map(byKind("ConfigMap").map((o) => [o.metadata.name, o.data ?? {}]));
  const secrets = new Map(
    byKind("Secret").map((o) => {
      const values: Labels = { ...o.stringData };
      for (const [k, v] of Object.entries(o.data ?? {})) {
        try {
          values[k] = atob(v);
        } catch {
          problems.push(`${where(o)}: data.${k} is not base64`);
          values[k] = "";
        }
      }
      return [o.metadata.name, values];
    }),
  );
  const usedConfigMaps = new Set<string>();
  const usedSecretKeys = new Set<string>();
  const stageOf = (image: string) => ctx.stages.find((s) => s.name === imageParts(image).name);
  const serviceOfStage = (stage: Stage | undefined) => {
    const script = stage?.cmd && denoScript(stage.cmd);
    const dir = script && /^services\/([^/]+)\/main\.ts$/.exec(script)?.[1];
    return dir ? ctx.services.get(dir) : undefined;
  };
  const serviceOf = (c: Container) => serviceOfStage(stageOf(c.image));

  // Names must be unique per kind.
  const seen = new Set<string>();
  for (const o of objects) {
    const key = `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    if (seen.has(key)) problem(`${where(o)}: defined twice`);
    seen.add(key);
  }

  // Workloads: selectors match their pods.
  for (const w of workloads) {
    const spec = workloadSpec(w);
    const match = spec.selector?.matchLabels ?? {};
    if (Object.keys(match).length === 0) problem(`${where(w)}: empty selector.matchLabels`);
    if (spec.selector?.matchExpressions) problem(`${where(w)}: matchExpressions are not checked`);
    if (!selects(match, podLabels(w))) {
      problem(
        `${where(w)}: selector ${JSON.stringify(match)} does not match its pod labels ${
          JSON.stringify(podLabels(w))
        }`,
      );
    }
    if (w.kind === "StatefulSet") {
      if (!k8sServices.some((s) => s.metadata.name === spec.serviceName)) {
        problem(`${where(w)}: serviceName "${spec.serviceName}" is not a rendered Service`);
      }
    }
  }

  // Services: select some workload and target a declared container port.
  const selectedBy = (svc: K8sObject) => {
    const selector = (svc.spec as ServiceSpec).selector ?? {};
    return Object.keys(selector).length === 0
      ? []
      : workloads.filter((w) => selects(selector, podLabels(w)));
  };
  for (const svc of k8sServices) {
    const spec = svc.spec as ServiceSpec;
    const targets = selectedBy(svc);
    if (targets.length === 0) {
      problem(`${where(svc)}: selector ${JSON.stringify(spec.selector)} matches no workload`);
      continue;
    }
    for (const port of spec.ports ?? []) {
      const ref = port.targetPort ?? port.port;
      for (const w of targets) {
        const ports = podSpec(w).containers.flatMap((c) => c.ports ?? []);
        if (!resolvePort(ports, ref)) {
          problem(`${where(svc)}: port ${port.port} targets ${ref}, not a port of ${where(w)}`);
        }
      }
    }
  }
  /** The Service and container port behind `host:port`, if any. */
  const route = (host: string, port: number) => {
    const svc = k8sServices.find((s) => s.metadata.name === host.split(".")[0]);
    const sp = svc && (svc.spec as ServiceSpec).ports.find((p) => p.port === port);
    if (!svc || !sp) return undefined;
    return selectedBy(svc).map((w) => ({
      workload: w,
      container: podSpec(w).containers.find((c) =>
        resolvePort(c.ports ?? [], sp.targetPort ?? sp.port)
      ),
      port: resolvePort(
        podSpec(w).containers.flatMap((c) => c.ports ?? []),
        sp.targetPort ?? sp.port,
      ),
    }));
  };

  // Containers.
  const authSources = new Set<string>();
  const deployed = new Map<string, K8sObject[]>();
  let natsWorkloads = 0;
  for (const w of workloads) {
    const pod = podSpec(w);
    const grace = (pod.terminationGracePeriodSeconds ?? 30) * 1000;
    for (const c of allContainers(pod)) {
      const at = `${where(w)} container ${c.name}`;
      const isInit = (pod.initContainers ?? []).includes(c);
      // Resources.
      const { requests = {}, limits = {} } = c.resources ?? {};
      for (const r of ["cpu", "memory"]) {
        if (!requests[r]) problem(`${at}: no ${r} request`);
        if (!limits[r]) problem(`${at}: no ${r} limit`);
      }
      try {
        if (requests.cpu && limits.cpu && cpuCores(requests.cpu) > cpuCores(limits.cpu)) {
          problem(`${at}: cpu request ${requests.cpu} above its limit ${limits.cpu}`);
        }
        if (
          requests.memory && limits.memory &&
          memoryBytes(requests.memory) > memoryBytes(limits.memory)
        ) {
          problem(`${at}: memory request ${requests.memory} above its limit ${limits.memory}`);
        }
      } catch (err) {
        problem(`${at}: ${(err as Error).message}`);
      }
      // Probes reference declared ports.
      const ports = c.ports ?? [];
      for (const kind of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
        const probe = c[kind];
        if (!probe) {
          if (!isInit && kind !== "startupProbe") problem(`${at}: no ${kind}`);
          continue;
        }
        const ref = probe.grpc?.port ?? probe.httpGet?.port ?? probe.tcpSocket?.port;
        if (ref === undefined) {
          if (!probe.exec) problem(`${at}: ${kind} has no grpc, httpGet, tcpSocket or exec`);
        } else if (!resolvePort(ports, ref)) {
          problem(`${at}: ${kind} uses port ${ref}, not declared by the container`);
        }
      }
      // Image.
      const image = imageParts(c.image);
      if (!image.tag || image.tag === "latest") problem(`${at}: image ${c.image} has no fixed tag`);
      if (image.name === NATS_IMAGE) {
        natsWorkloads++;
        const args = c.args ?? [];
        if (!args.includes("-js") && !args.includes("--jetstream")) {
          problem(`${at}: nats-server runs without -js`);
        }
        if (!resolvePort(ports, NATS_CLIENT_PORT)) {
          problem(`${at}: no container port ${NATS_CLIENT_PORT}`);
        }
        const sdAt = Math.max(args.indexOf("-sd"), args.indexOf("--store_dir"));
        const storeDir = sdAt >= 0 ? args[sdAt + 1] : undefined;
        if (!storeDir) problem(`${at}: no JetStream store dir (-sd)`);
        else if (!onPersistentVolume(w, c, storeDir)) {
          problem(`${at}: JetStream store ${storeDir} is not on a persistent volume`);
        }
        if (!k8sServices.some((s) => route(s.metadata.name, NATS_CLIENT_PORT)?.length)) {
          problem(`${at}: no Service exposes port ${NATS_CLIENT_PORT}`);
        }
        continue;
      }
      const stage = stageOf(c.image);
      const svc = serviceOf(c);
      if (!stage || !svc) {
        problem(`${at}: image ${c.image} is neither a deploy/Dockerfile service target nor nats`);
        continue;
      }
      if (imageParts(c.image).repo.split("/").at(-2) !== "parlmt") {
        problem(`${at}: image ${c.image} is not named parlmt/<target>`);
      }
      // Command: main containers run the image's CMD; others run a cached repository script.
      if (!isInit) {
        if (c.command || c.args) problem(`${at}: overrides the image's CMD`);
        if (c.name !== svc.dir) problem(`${at}: container runs ${svc.dir} but is named ${c.name}`);
        if (w.metadata.name !== svc.dir) problem(`${at}: ${svc.dir} runs in ${where(w)}`);
        deployed.set(svc.dir, [...(deployed.get(svc.dir) ?? []), w]);
      } else {
        const script = c.command && denoScript(c.command);
        if (!script) problem(`${at}: command is not "deno run ... <script>"`);
        else {
          try {
            Deno.statSync(new URL(script, ROOT));
          } catch {
            problem(`${at}: runs ${script}, which does not exist`);
          }
          if (!stage.runs.some((r) => r.includes(`--entrypoint ${script}`))) {
            problem(`${at}: ${script} is not cached by the Dockerfile target ${stage.name}`);
          }
        }
      }
      // Environment: only names the config reads; values the config accepts.
      const env: Record<string, string> = Object.fromEntries(stage.env);
      const setEnv = (name: string, value: string, source: string) => {
        if (!name.startsWith("DENO_") && !svc.envNames.has(name)) {
          problem(`${at}: env ${name} (${source}) is not read by ${svc.name}'s config`);
        }
        if (/_(AUTH_TOKEN|API_KEY)$/.test(name) && !source.startsWith("secret")) {
          problem(`${at}: ${name} comes from ${source}, not a Secret`);
        }
        if (name.endsWith("_AUTH_TOKEN")) authSources.add(source);
        env[name] = value;
      };
      for (const from of c.envFrom ?? []) {
        if (from.prefix) problem(`${at}: envFrom prefix is not supported by the checks`);
        if (from.configMapRef) {
          const data = configMaps.get(from.configMapRef.name);
          usedConfigMaps.add(from.configMapRef.name);
          if (!data) problem(`${at}: envFrom ConfigMap ${from.configMapRef.name} is not rendered`);
          for (const [k, v] of Object.entries(data ?? {})) {
            setEnv(k, v, `configmap ${from.configMapRef.name}`);
          }
        }
        if (from.secretRef) {
          const data = secrets.get(from.secretRef.name);
          if (!data) problem(`${at}: envFrom Secret ${from.secretRef.name} is not rendered`);
          for (const [k, v] of Object.entries(data ?? {})) {
            usedSecretKeys.add(`${from.secretRef.name}/${k}`);
            setEnv(k, v, `secret ${from.secretRef.name}/${k}`);
          }
        }
      }
      for (const e of c.env ?? []) {
        const { configMapKeyRef: cm, secretKeyRef: sk, fieldRef } = e.valueFrom ?? {};
        if (cm) {
          usedConfigMaps.add(cm.name);
          const value = configMaps.get(cm.name)?.[cm.key];
          if (value === undefined) {
            problem(`${at}: env ${e.name}: no key ${cm.key} in ConfigMap ${cm.name}`);
          }
          setEnv(e.name, value ?? "", `configmap ${cm.name}/${cm.key}`);
        } else if (sk) {
          usedSecretKeys.add(`${sk.name}/${sk.key}`);
          const value = secrets.get(sk.name)?.[sk.key];
          if (value === undefined) {
            problem(`${at}: env ${e.name}: no key ${sk.key} in Secret ${sk.name}`);
          }
          setEnv(e.name, value ?? "", `secret ${sk.name}/${sk.key}`);
        } else if (fieldRef) {
          setEnv(e.name, `${w.metadata.name}-0`, `fieldRef ${fieldRef.fieldPath}`);
        } else {
          setEnv(e.name, e.value ?? "", "value");
        }
      }
      let config: Record<string, unknown>;
      try {
        config = parseConfig(svc.name, svc.spec, [], env);
      } catch (err) {
        problem(`${at}: ${(err as Error).message}`);
        continue;
      }
      // Addresses of other services and of NATS resolve to the right pods and ports.
      for (const [field, fs] of Object.entries(svc.spec)) {
        if (fs.type !== "string" || typeof fs.default !== "string") continue;
        const m = /^(?:(nats):\/\/)?(127\.0\.0\.1|localhost):(\d+)$/.exec(fs.default);
        if (!m) continue;
        const value = String(config[field]);
        if (value === "") continue; // off
        const target = m[1] === "nats"
          ? "nats"
          : [...ctx.services.values()].find((s) => s.grpcPort === Number(m[3]))?.dir;
        if (!target) continue;
        const v = /^(?:(nats):\/\/)?([a-z0-9.-]+):(\d+)$/.exec(value);
        if (!v || v[1] !== m[1]) {
          problem(`${at}: ${field} = "${value}" is not ${m[1] ? "nats://" : ""}host:port`);
          continue;
        }
        if (LOOPBACK.has(v[2])) {
          problem(`${at}: ${field} = "${value}" points at the pod itself, not ${target}`);
          continue;
        }
        const routes = route(v[2], Number(v[3])) ?? [];
        const expectedPort = target === "nats"
          ? NATS_CLIENT_PORT
          : ctx.services.get(target)!.grpcPort;
        const ok = routes.length > 0 &&
          routes.every((r) =>
            r.container && r.port?.containerPort === expectedPort &&
            (target === "nats"
              ? imageParts(r.container.image).name === NATS_IMAGE
              : serviceOf(r.container)?.dir === target)
          );
        if (!ok) {
          problem(`${at}: ${field} = "${value}" does not reach ${target}'s port ${expectedPort}`);
        }
      }
      if (isInit) continue;
      // Ports: the config's, the defaults, declared as grpc and admin.
      const grpc = ports.find((p) => p.name === "grpc");
      const admin = ports.find((p) => p.name === "admin");
      for (
        const [label, declared, effective, dflt] of [
          ["grpc", grpc, config.port, svc.grpcPort],
          ["admin", admin, config.adminPort, svc.adminPort],
        ] as const
      ) {
        if (!declared) problem(`${at}: no container port named ${label}`);
        else if (declared.containerPort !== effective || effective !== dflt) {
          problem(
            `${at}: ${label} port declared ${declared.containerPort}, configured ${effective}, ` +
              `default ${dflt} (all three must agree)`,
          );
        }
      }
      if (LOOPBACK.has(String(config.host))) {
        problem(`${at}: binds ${config.host}; probes and Services cannot reach it`);
      }
      // Probes: gRPC health on the gRPC port, or /healthz on the admin port.
      for (const kind of ["readinessProbe", "livenessProbe"] as const) {
        const probe = c[kind];
        if (!probe) continue;
        const viaGrpc = probe.grpc?.port === config.port;
        const viaHttp = probe.httpGet !== undefined &&
          resolvePort(ports, probe.httpGet.port)?.containerPort === config.adminPort &&
          ["/healthz", "/readyz"].includes(probe.httpGet.path ?? "");
        if (!viaGrpc && !viaHttp) {
          problem(
            `${at}: ${kind} is neither grpc on ${config.port} nor /healthz on ${config.adminPort}`,
          );
        }
      }
      // Metrics scraping annotation points at the admin port.
      const scrapePort = workloadSpec(w).template.metadata.annotations?.["prometheus.io/port"];
      if (scrapePort !== undefined && Number(scrapePort) !== config.adminPort) {
        problem(
          `${at}: prometheus.io/port ${scrapePort} is not the admin port ${config.adminPort}`,
        );
      }
      if (typeof config.shutdownGraceMs === "number" && config.shutdownGraceMs >= grace) {
        problem(
          `${at}: terminationGracePeriodSeconds ${grace / 1000} s does not cover shutdownGraceMs ` +
            `${config.shutdownGraceMs}`,
        );
      }
      // Durable state (dataDir) on a persistent volume, one writer.
      if (typeof config.dataDir === "string") {
        if ((workloadSpec(w).replicas ?? 1) !== 1) problem(`${at}: dataDir needs replicas 1`);
        if (!onPersistentVolume(w, c, config.dataDir)) {
          problem(`${at}: dataDir ${config.dataDir} is not on a persistent volume`);
        } else if (pod.securityContext?.runAsUser !== undefined && !pod.securityContext.fsGroup) {
          problem(`${at}: runs as user ${pod.securityContext.runAsUser} without fsGroup`);
        }
      }
      // The pod's user is the image's.
      const uid = pod.securityContext?.runAsUser;
      if (uid !== undefined && stage.user?.split(":")[0] !== String(uid)) {
        problem(`${at}: runAsUser ${uid} but the image's USER is ${stage.user}`);
      }
    }
  }
  if (natsWorkloads !== 1) problem(`expected one nats container, found ${natsWorkloads}`);
  if (authSources.size > 1) {
    problem(`the services read their auth tokens from different sources: ${[...authSources]}`);
  }

  // Every service runs, once; everything but the actors has a Service for its ports.
  for (const svc of ctx.services.values()) {
    const ws = deployed.get(svc.dir) ?? [];
    if (ws.length !== 1) problem(`${svc.dir}: runs in ${ws.length} workloads, expected 1`);
    if (svc.dir === "rollout-actor") continue;
    for (const port of [svc.grpcPort, svc.adminPort]) {
      const routes = route(svc.dir, port);
      if (!routes?.length || !routes.every((r) => r.container?.name === svc.dir)) {
        problem(`${svc.dir}: no Service "${svc.dir}" routes port ${port} to it`);
      }
    }
  }

  // The actors scale with an HPA on CPU.
  const hpas = byKind("HorizontalPodAutoscaler");
  const actorWorkloads = deployed.get("rollout-actor") ?? [];
  const actorHpas = hpas.filter((h) =>
    actorWorkloads.some((w) =>
      (h.spec as HpaSpec).scaleTargetRef.kind === w.kind &&
      (h.spec as HpaSpec).scaleTargetRef.name === w.metadata.name
    )
  );
  for (const h of hpas) {
    const spec = h.spec as HpaSpec;
    if (h.apiVersion !== "autoscaling/v2") problem(`${where(h)}: apiVersion ${h.apiVersion}`);
    const target = workloads.find((w) =>
      w.kind === spec.scaleTargetRef.kind && w.metadata.name === spec.scaleTargetRef.name
    );
    if (!target) problem(`${where(h)}: scaleTargetRef ${spec.scaleTargetRef.name} not rendered`);
    else if (workloadSpec(target).replicas !== undefined) {
      problem(
        `${where(h)}: ${where(target)} sets replicas, which every apply resets under the HPA`,
      );
    }
    if (!((spec.minReplicas ?? 1) >= 1 && (spec.minReplicas ?? 1) <= spec.maxReplicas)) {
      problem(`${where(h)}: minReplicas ${spec.minReplicas} / maxReplicas ${spec.maxReplicas}`);
    }
    const cpu = spec.metrics?.find((m) => m.type === "Resource" && m.resource?.name === "cpu");
    const util = cpu?.resource?.target.averageUtilization;
    if (cpu?.resource?.target.type !== "Utilization" || !(util! > 0 && util! <= 100)) {
      problem(`${where(h)}: no CPU utilization target`);
    }
  }
  if (actorHpas.length !== 1 || actorWorkloads[0]?.kind !== "Deployment") {
    problem(`rollout-actor: expected a Deployment scaled by one HPA, found ${actorHpas.length}`);
  }

  // Nothing rendered for nobody.
  for (const name of configMaps.keys()) {
    if (!usedConfigMaps.has(name)) problem(`ConfigMap/${name}: not used by any container`);
  }
  for (const [name, values] of secrets) {
    for (const key of Object.keys(values)) {
      if (!usedSecretKeys.has(`${name}/${key}`)) problem(`Secret/${name}: key ${key} is unused`);
    }
  }
  // One tag for all of the project's images.
  const tags = new Set(
    workloads.flatMap((w) => allContainers(podSpec(w)))
      .filter((c) => stageOf(c.image))
      .map((c) => imageParts(c.image).tag),
  );
  if (tags.size > 1) problem(`the project's images have different tags: ${[...tags]}`);
  return problems;
}

/** Whether `path` is under a mount of `c` backed by a PVC or a volumeClaimTemplate. */
function onPersistentVolume(w: K8sObject, c: Container, path: string): boolean {
  const spec = workloadSpec(w);
  const persistent = new Set([
    ...(spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name),
    ...(spec.template.spec.volumes ?? []).filter((v) => v.persistentVolumeClaim).map((v) => v.name),
  ]);
  return (c.volumeMounts ?? []).some((m) =>
    persistent.has(m.name) &&
    (path === m.mountPath || path.startsWith(m.mountPath.replace(/\/$/, "") + "/"))
  );
}

// ---------------------------------------------------------------------------------------------
// The tests.

let contextPromise: Promise<Context> | undefined;
function context(): Promise<Context> {
  return contextPromise ??= (async () => ({
    services: await discoverServices(),
    stages: parseDockerfile(await Deno.readTextFile(new URL("deploy/Dockerfile", ROOT))),
  }))();
}

async function denoVersionOfRun(): Promise<string> {
  const run = await Deno.readTextFile(new URL("run", ROOT));
  const version = /^DENO_VERSION=(\S+)$/m.exec(run)?.[1];
  assert.ok(version, "./run does not pin DENO_VERSION");
  return version;
}

Deno.test("deploy - the Dockerfile has a target per service: base image, entrypoint, ports, env", async () => {
  const ctx = await context();
  assert.deepEqual(
    [...ctx.services.keys()].sort(),
    ["env-simulator", "learner", "policy-inference", "rollout-actor", "synthesis"],
    "the services found under services/",
  );
  assert.deepEqual(checkDockerfile(ctx.stages, ctx.services, await denoVersionOfRun()), []);
  const dockerignore = await Deno.readTextFile(new URL(".dockerignore", ROOT));
  assert.deepEqual(ignoredButNeeded(dockerignore, ctx.stages), [], ".dockerignore drops them");
  assert.deepEqual(ignoredButNeeded("services/learner\n", ctx.stages), [
    "services/learner/main.ts",
  ]);
});

for (const dir of KUSTOMIZATIONS) {
  Deno.test(`deploy - kubectl kustomize ${dir} renders manifests that agree with the code`, async () => {
    const ctx = await context();
    const objects = await kustomize(dir);
    assert.ok(objects.length > 0, `${dir} rendered nothing`);
    assert.deepEqual(checkManifests(objects, ctx), []);
    const namespaced = objects.filter((o) => o.kind !== "Namespace");
    if (dir.includes("/overlays/")) {
      assert.ok(
        objects.some((o) => o.kind === "Namespace" && o.metadata.name === OVERLAY_NAMESPACE),
        `${dir} does not create namespace ${OVERLAY_NAMESPACE}`,
      );
      const elsewhere = namespaced.filter((o) => o.metadata.namespace !== OVERLAY_NAMESPACE);
      assert.deepEqual(elsewhere.map(where), [], `objects outside ${OVERLAY_NAMESPACE}`);
    } else {
      assert.deepEqual(namespaced.filter((o) => o.metadata.namespace).map(where), []);
    }
  });
}

Deno.test("deploy - the overlays: local runs 2 actors, scale more actors and policy replicas", async () => {
  const [base, local, scale] = await Promise.all(KUSTOMIZATIONS.map(kustomize));
  const hpa = (objs: K8sObject[]) =>
    objs.find((o) => o.kind === "HorizontalPodAutoscaler")!.spec as HpaSpec;
  const replicas = (objs: K8sObject[], name: string) =>
    workloadSpec(objs.find((o) => isWorkload(o) && o.metadata.name === name)!).replicas ?? 1;
  assert.equal(hpa(local).minReplicas, 2);
  assert.ok(hpa(local).maxReplicas <= hpa(base).maxReplicas);
  assert.ok(hpa(scale).minReplicas! > hpa(base).minReplicas!);
  assert.ok(hpa(scale).maxReplicas > hpa(base).maxReplicas);
  assert.ok(replicas(scale, "policy-inference") > replicas(base, "policy-inference"));
});

Deno.test("deploy - the checks catch broken manifests", async () => {
  const ctx = await context();
  const rendered = await kustomize(KUSTOMIZATIONS[0]);
  type Break = (find: (kind: string, name: string) => K8sObject) => void;
  const main = (w: K8sObject) => podSpec(w).containers[0];
  const cases: [string, Break, RegExp][] = [
    ["selector", (find) => {
      workloadSpec(find("Deployment", "synthesis")).selector.matchLabels![
        "app.kubernetes.io/name"
      ] = "synthesys";
    }, /Deployment\/synthesis: selector/],
    ["service targetPort", (find) => {
      (find("Service", "learner").spec as ServiceSpec).ports[0].targetPort = "grcp";
    }, /Service\/learner: port 50054 targets grcp/],
    ["service selector", (find) => {
      (find("Service", "env-simulator").spec as ServiceSpec).selector = { app: "env" };
    }, /Service\/env-simulator: selector .* matches no workload/],
    ["env name", (find) => {
      find("ConfigMap", "learner-config").data!.LEARNER_GROUPSIZE = "4";
    }, /env LEARNER_GROUPSIZE .* not read by learner's config/],
    ["env value", (find) => {
      find("ConfigMap", "learner-config").data!.LEARNER_ESTIMATOR = "ppo";
    }, /LEARNER_ESTIMATOR/],
    ["secret key", (find) => {
      main(find("Deployment", "synthesis")).env![0].valueFrom!.secretKeyRef!.key = "auth";
    }, /no key auth in Secret parlmt-secrets/],
    ["port", (find) => {
      main(find("Deployment", "policy-inference")).ports![0].containerPort = 50060;
    }, /policy-inference: grpc port declared 50060/],
    ["probe", (find) => {
      main(find("Deployment", "env-simulator")).readinessProbe!.grpc!.port = 9999;
    }, /readinessProbe uses port 9999/],
    ["address", (find) => {
      find("ConfigMap", "rollout-actor-config").data!.ROLLOUT_ACTOR_ENV_ADDRESS = "learner:50054";
    }, /envAddress = "learner:50054" does not reach env-simulator/],
    ["nats", (find) => {
      main(find("StatefulSet", "nats")).args = ["-sd", "/data/jetstream"];
    }, /without -js/],
    ["resources", (find) => {
      delete main(find("StatefulSet", "learner")).resources!.requests;
    }, /container learner: no cpu request/],
    ["learner volume", (find) => {
      main(find("StatefulSet", "learner")).volumeMounts = [];
    }, /dataDir \/data\/learner is not on a persistent volume/],
    ["hpa", (find) => {
      (find("HorizontalPodAutoscaler", "rollout-actor").spec as HpaSpec).scaleTargetRef.name =
        "actors";
    }, /scaleTargetRef actors not rendered/],
    ["image", (find) => {
      main(find("StatefulSet", "learner")).image = "parlmt/trainer:dev";
    }, /parlmt\/trainer:dev is neither/],
    ["host", (find) => {
      find("ConfigMap", "env-simulator-config").data!.ENV_SIMULATOR_HOST = "127.0.0.1";
    }, /env-simulator: binds 127\.0\.0\.1/],
    ["token from a ConfigMap", (find) => {
      find("ConfigMap", "synthesis-config").data!.SYNTHESIS_WRITER_API_KEY = "k";
    }, /SYNTHESIS_WRITER_API_KEY comes from configmap/],
  ];
  for (const [label, breakIt, expected] of cases) {
    const objects = structuredClone(rendered);
    breakIt((kind, name) => {
      const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
      assert.ok(found, `${label}: no ${kind}/${name}`);
      return found;
    });
    const problems = checkManifests(objects, ctx);
    assert.ok(
      problems.some((p) => expected.test(p)),
      `${label}: expected a problem matching ${expected}, got ${JSON.stringify(problems)}`,
    );
  }
  assert.deepEqual(checkManifests(rendered, ctx), [], "the unbroken rendering");
  const stages = parseDockerfile(await Deno.readTextFile(new URL("deploy/Dockerfile", ROOT)));
  stages.find((s) => s.name === "learner")!.expose = [50054];
  assert.match(
    checkDockerfile(stages, ctx.services, await denoVersionOfRun()).join("\n"),
    /learner: does not EXPOSE 9104/,
  );
});
