// The Helm chart rendered by the pinned helm (infra/dev/helm.sh: built once from the Go module
// proxy, minutes on a cold cache), parsed into plain objects for the infra tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CHART = join(ROOT, 'helm/fillstream');
const HELM_SH = join(ROOT, 'infra/dev/helm.sh');

// Loose shapes of what the tests read; anything else stays unknown.
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: unknown; fieldRef?: unknown };
}
export interface Probe {
  httpGet?: { path: string; port: string | number };
}
export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface Volume {
  name: string;
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  projected?: { sources: { secret?: { name: string; items?: { key: string; path: string }[] } }[] };
  configMap?: { name: string };
  emptyDir?: object;
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
}
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
export type Workload = Manifest & {
  spec: { replicas?: number; selector?: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
};

/** Runs infra/dev/helm.sh ARGS; stdout, stderr and the exit status. */
export function helm(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(HELM_SH, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A values file holding `values`, for `-f`. */
export function valuesFile(values: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'fillstream-helm-')), 'values.yaml');
  writeFileSync(path, stringify(values));
  return path;
}

/** `helm template` of the chart with these extra args, every document parsed (empty ones dropped); throws with helm's message on failure. */
export function render(args: readonly string[] = []): Manifest[] {
  const r = helm(['template', 'fs', CHART, '--namespace', 'trading', ...args]);
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors[0].message}`);
      return d.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

/** The chart's values.yaml. */
export function chartValues(): Record<string, unknown> {
  return parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
}

export const isWorkload = (m: Manifest): m is Workload => m.kind === 'Deployment' || m.kind === 'Job';
export const deployments = (ms: Manifest[]): Workload[] => ms.filter((m): m is Workload => m.kind === 'Deployment');
export const componentOf = (m: Manifest): string => m.metadata.labels?.['app.kubernetes.io/component'] ?? '';

/** The one Deployment of a component. */
export function deploymentOf(ms: Manifest[], component: string): Workload {
  const found = deployments(ms).filter((d) => componentOf(d) === component);
  if (found.length !== 1) throw new Error(`expected one Deployment of ${component}, found ${found.length}`);
  return found[0];
}

/** Values that switch on every optional variable and mount, for comparing variable names. */
export const ALL_OPTIONS = {
  kafka: { schemaRegistryUrl: 'http://registry:8081' },
  redis: { prefix: 'fs:' },
  observability: { otlpEndpoint: 'http://otel-collector:4318' },
  secrets: { operatorTokens: { secretName: 'fillstream-operators', key: 'tokens' } },
};
