// The Helm chart (helm/fillstream), rendered by the pinned helm and checked manifest by manifest:
// probes, replicas against partitions, secrets only by reference, resources, the ServiceMonitor.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { STAGE_NAMES } from '../../src/assembly/run.js';
import {
  CHART,
  componentOf,
  deploymentOf,
  deployments,
  helm,
  isWorkload,
  render,
  valuesFile,
  type Container,
  type Manifest,
  type PodSpec,
  type Workload,
} from '../helpers/helm.js';

// The first call may build helm (infra/dev/helm.sh): minutes on a cold Go cache.
const BUILD_TIMEOUT = 15 * 60_000;

/** Every secret reference in use: venue keys, operator tokens, URLs from Secrets (the values `make test` also lints with). */
const SECRETS_VALUES = join(CHART, 'ci/secrets-values.yaml');
const WITH_SECRETS = parse(readFileSync(SECRETS_VALUES, 'utf8')) as {
  secrets: { venueCredentials: { env: string; secretName: string; key: string }[] };
  config: { venues: { venues: { credentials: Record<string, string> }[] } };
};

const SECRET_LIKE = /key|secret|token|passw|passphrase|credential/i;

const containersOf = (w: Workload): Container[] => [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers];

/** The container's port a probe names, by name or number. */
function probePort(c: Container, port: string | number | undefined): number | undefined {
  return c.ports?.find((p) => p.name === port || p.containerPort === port)?.containerPort;
}

/** Mount path → the Secret it comes from, for each Secret-backed volume a container mounts. */
function secretMounts(pod: PodSpec, c: Container): Map<string, { secrets: string[]; paths: string[] }> {
  const out = new Map<string, { secrets: string[]; paths: string[] }>();
  for (const m of c.volumeMounts ?? []) {
    const v = pod.volumes?.find((x) => x.name === m.name);
    const sources = v?.secret ? [{ name: v.secret.secretName, items: v.secret.items }] : (v?.projected?.sources.flatMap((s) => (s.secret ? [s.secret] : [])) ?? []);
    if (sources.length === 0) continue;
    out.set(m.mountPath, { secrets: sources.map((s) => s.name), paths: sources.flatMap((s) => (s.items ?? []).map((i) => i.path)) });
  }
  return out;
}

test('helm lint --strict passes on the defaults and with every secret reference in use', { timeout: BUILD_TIMEOUT }, () => {
  for (const args of [[], ['-f', SECRETS_VALUES]]) {
    const r = helm(['lint', '--strict', CHART, ...args]);
    assert.equal(r.status, 0, `helm lint ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  }
});

for (const [label, args] of [
  ['defaults', [] as string[]],
  ['every secret reference in use', ['-f', SECRETS_VALUES]],
] as const) {
  test(`${label}: every Deployment container has liveness /healthz and readiness /readyz on a port it declares`, () => {
    const ds = deployments(render(args));
    assert.deepEqual(ds.map(componentOf).sort(), ['api', 'audit', 'decide', 'gateway', 'projector']);
    for (const d of ds) {
      for (const c of containersOf(d)) {
        const where = `${d.metadata.name}/${c.name}`;
        assert.equal(c.livenessProbe?.httpGet?.path, '/healthz', `${where}: liveness`);
        assert.equal(c.readinessProbe?.httpGet?.path, '/readyz', `${where}: readiness`);
        assert.ok(probePort(c, c.livenessProbe.httpGet.port), `${where}: the liveness port is one the container declares`);
        assert.ok(probePort(c, c.readinessProbe.httpGet.port), `${where}: the readiness port is one the container declares`);
      }
    }
  });

  test(`${label}: every container of every Deployment and Job requests CPU and memory and has a memory limit`, () => {
    for (const w of render(args).filter(isWorkload)) {
      for (const c of containersOf(w)) {
        const where = `${w.kind} ${w.metadata.name}/${c.name}`;
        assert.ok(c.resources?.requests?.cpu, `${where}: cpu request`);
        assert.ok(c.resources.requests.memory, `${where}: memory request`);
        assert.ok(c.resources.limits?.memory, `${where}: memory limit`);
      }
    }
  });

  test(`${label}: secrets only by reference (no Secret rendered, no secret-like variable with a literal value)`, () => {
    const ms = render(args);
    assert.deepEqual(
      ms.filter((m) => m.kind === 'Secret').map((m) => m.metadata.name),
      [],
      'the chart renders no Secret: it names existing ones',
    );
    for (const m of ms) assert.ok(m.data === undefined || m.kind === 'ConfigMap', `${m.kind} ${m.metadata.name} carries data`);
    for (const w of ms.filter(isWorkload)) {
      const pod = w.spec.template.spec;
      for (const c of containersOf(w)) {
        const mounts = secretMounts(pod, c);
        for (const e of c.env ?? []) {
          const where = `${w.metadata.name}/${c.name} env ${e.name}`;
          // A URL may carry a password: never literally user:password@.
          if (e.value !== undefined) assert.doesNotMatch(e.value, /:\/\/[^/@\s]*:[^/@\s]+@/, `${where}: credentials in a literal URL`);
          if (!SECRET_LIKE.test(e.name)) continue;
          if (e.valueFrom !== undefined) {
            assert.ok(e.valueFrom.secretKeyRef, `${where}: a secret-like variable comes from a Secret`);
            continue;
          }
          // <NAME>_FILE names a file of a Secret-backed mount.
          assert.match(e.name, /_FILE$/, `${where}: a literal value for a secret-like variable`);
          const value = e.value ?? '';
          const dir = value.slice(0, value.lastIndexOf('/'));
          const mount = mounts.get(dir);
          assert.ok(mount, `${where}: ${value} is not in a volume mounted from a Secret`);
          assert.ok(mount.paths.includes(value.slice(dir.length + 1)), `${where}: ${value} is not an item of that Secret volume`);
        }
      }
    }
  });
}

test('every credential the venues file names reaches the gateway as <NAME>_FILE from its Secret; the API gets the operator tokens; nothing else gets either', () => {
  const ms = render(['-f', SECRETS_VALUES]);
  const gateway = deploymentOf(ms, 'gateway');
  const c = gateway.spec.template.spec.containers[0];
  const names = (c.env ?? []).map((e) => e.name);
  for (const v of WITH_SECRETS.config.venues.venues) for (const name of Object.values(v.credentials)) assert.ok(names.includes(`${name}_FILE`), `gateway lacks ${name}_FILE`);
  assert.ok(c.args?.includes('--venues'), 'the gateway is given the venues file');
  const projected = gateway.spec.template.spec.volumes?.find((v) => v.projected)?.projected;
  assert.deepEqual(
    projected?.sources.map((s) => s.secret?.name),
    WITH_SECRETS.secrets.venueCredentials.map((v) => v.secretName),
  );
  const api = deploymentOf(ms, 'api').spec.template.spec.containers[0];
  assert.equal(api.env?.find((e) => e.name === 'FILLSTREAM_OPERATOR_TOKENS_FILE')?.value, '/var/run/secrets/fillstream/operator/tokens');
  for (const d of deployments(ms)) {
    const env = d.spec.template.spec.containers.flatMap((x) => x.env ?? []).map((e) => e.name);
    if (componentOf(d) !== 'gateway') assert.ok(!env.some((n) => /API_KEY|API_SECRET|PASSPHRASE/.test(n)), `${d.metadata.name} gets venue keys`);
    if (componentOf(d) !== 'api') assert.ok(!env.includes('FILLSTREAM_OPERATOR_TOKENS_FILE'), `${d.metadata.name} gets operator tokens`);
  }
  const config = ms.find((m) => m.kind === 'ConfigMap');
  assert.ok(config?.data?.['venues.json'] && config.data['policy.json'], 'the ConfigMap holds the venues file and the policy');
  assert.deepEqual(JSON.parse(config.data['venues.json']), WITH_SECRETS.config.venues);
});

test('a venues file naming a credential no Secret provides does not render', () => {
  const values = { ...WITH_SECRETS, secrets: { venueCredentials: WITH_SECRETS.secrets.venueCredentials.slice(1) } };
  const r = helm(['template', 'fs', CHART, '-f', valuesFile(values)]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /BINANCE_API_KEY, which no secrets.venueCredentials entry provides/);
});

for (const partitions of [2, 7]) {
  test(`partitions=${partitions}: the stage Deployments run that many replicas, the sinks one, and the topics Job creates that many partitions`, () => {
    const ms = render(['--set', `partitions=${partitions}`]);
    for (const stage of ['decide', 'gateway']) {
      assert.ok((STAGE_NAMES as readonly string[]).includes(stage));
      assert.equal(deploymentOf(ms, stage).spec.replicas, partitions, stage);
    }
    for (const sink of ['projector', 'audit']) {
      const d = deploymentOf(ms, sink);
      assert.equal(d.spec.replicas, 1, sink);
      assert.deepEqual(d.spec['strategy'], { type: 'Recreate' }, `${sink}: a single writer, even during a rollout`);
    }
    const job = ms.find((m): m is Workload => m.kind === 'Job' && componentOf(m) === 'topics');
    const args = job?.spec.template.spec.containers[0].args ?? [];
    assert.equal(args[args.indexOf('--partitions') + 1], String(partitions));
    assert.match(job?.metadata.annotations?.['helm.sh/hook'] ?? '', /pre-install/);
  });
}

test('stage replicas may be set below the partition count, not above it', () => {
  const ms = render(['--set', 'partitions=6', '--set', 'stages.gateway.replicas=3']);
  assert.equal(deploymentOf(ms, 'gateway').spec.replicas, 3);
  assert.equal(deploymentOf(ms, 'decide').spec.replicas, 6);
  const r = helm(['template', 'fs', CHART, '--set', 'partitions=2', '--set', 'stages.decide.replicas=3']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /stages\.decide\.replicas \(3\) is more than partitions \(2\)/);
});

test('the ServiceMonitor scrapes /metrics on the port of every Deployment, and is left out when switched off', () => {
  const ms = render();
  const monitors = ms.filter((m) => m.kind === 'ServiceMonitor');
  assert.equal(monitors.length, 1);
  const sm = monitors[0] as Manifest & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } };
  assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
  for (const e of sm.spec.endpoints) assert.equal(e.path, '/metrics');
  const scraped = new Set(sm.spec.endpoints.map((e) => e.port));
  const services = ms.filter((m) => m.kind === 'Service') as (Manifest & { spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] } })[];
  const selected = services.filter((s) => Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
  for (const d of deployments(ms)) {
    const podLabels = d.spec.template.metadata.labels;
    const svc = selected.find((s) => Object.entries(s.spec.selector).every(([k, v]) => podLabels[k] === v));
    assert.ok(svc, `no scraped Service selects ${d.metadata.name}`);
    const port = svc.spec.ports.find((p) => scraped.has(p.name));
    assert.ok(port, `${svc.metadata.name}: none of its ports is scraped`);
    assert.ok(
      d.spec.template.spec.containers[0].ports?.some((p) => p.name === port.targetPort),
      `${svc.metadata.name} targets ${port.targetPort}, which ${d.metadata.name} does not declare`,
    );
  }
  assert.equal(render(['--set', 'serviceMonitor.enabled=false']).filter((m) => m.kind === 'ServiceMonitor').length, 0);
});

test('images are pinned: the chart version by default, never latest', () => {
  for (const w of render().filter(isWorkload)) for (const c of containersOf(w)) assert.match(c.image, /^fillstream:\d+\.\d+\.\d+$/, `${w.metadata.name}/${c.name}`);
  const r = helm(['template', 'fs', CHART, '--set', 'image.tag=latest']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not latest/);
});

test('every rendered manifest is a Kubernetes object: apiVersion, kind, a DNS-1123 name, the chart labels', () => {
  for (const args of [[], ['-f', SECRETS_VALUES]]) {
    for (const m of render(args)) {
      assert.ok(m.apiVersion && m.kind, JSON.stringify(m).slice(0, 120));
      assert.match(m.metadata.name, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, `${m.kind} ${m.metadata.name}`);
      assert.equal(m.metadata.labels?.['app.kubernetes.io/name'], 'fillstream', `${m.kind} ${m.metadata.name}`);
      assert.equal(m.metadata.labels['app.kubernetes.io/instance'], 'fs', `${m.kind} ${m.metadata.name}`);
    }
  }
});
