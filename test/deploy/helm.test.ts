/**
 * The Helm chart, checked without a helm binary: every template parses with
 * known functions only, every .Values path exists, the value files satisfy
 * values.schema.json (and the schema refuses what it must), and the chart
 * rendered with a purpose-built Go-template renderer (gotemplate.ts) gives the
 * intended manifests, whose ConfigMap is a gateway configuration that the real
 * loader accepts with every secret supplied by reference only.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfigText } from '../../src/config/load.ts';
import { ecPem, key32 } from '../support/keys.ts';
import { addTemplate, goNumber, KNOWN_FUNCTIONS, newChart, render, TemplateError, type Chart } from './gotemplate.ts';
import { validate } from './jsonschema.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered Kubernetes manifests: untyped YAML the assertions walk by path
type Obj = Record<string, any>;

const ROOT = resolve(import.meta.dirname, '../..');
const CHART_DIR = join(ROOT, 'helm/regentra-gateway');
const TEMPLATES = join(CHART_DIR, 'templates');
const BASE = 'regentra-gateway/templates';
const chartMeta = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as Obj;
const defaults = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Obj;
const multiReplica = parse(readFileSync(join(ROOT, 'helm/values-multi-replica.yaml'), 'utf8')) as Obj;
const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Obj;
const templateFiles = readdirSync(TEMPLATES).sort();

function loadChart(): Chart {
  const chart = newChart();
  for (const file of templateFiles) addTemplate(chart, `${BASE}/${file}`, readFileSync(join(TEMPLATES, file), 'utf8'));
  return chart;
}
const chart = loadChart();

const isMap = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Helm's coalescing of user values over the chart's: maps merge, anything else replaces, null deletes */
function coalesce(base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = coalesce(base[k], v);
  }
  return out;
}

const valuesWith = (...overrides: Obj[]): Obj => overrides.reduce<Obj>((acc, o) => coalesce(acc, o) as Obj, structuredClone(defaults));

interface Rendered {
  /** file → rendered text */
  readonly files: Map<string, string>;
  /** every manifest, by kind */
  readonly byKind: Map<string, Obj[]>;
  readonly notes: string;
}

function renderChart(values: Obj, release = 'gw'): Rendered {
  const root = {
    Values: values,
    Chart: { Name: chartMeta.name, Version: chartMeta.version, AppVersion: chartMeta.appVersion, Description: chartMeta.description },
    Release: { Name: release, Namespace: 'regentra', Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Capabilities: {},
  };
  const files = new Map<string, string>();
  const byKind = new Map<string, Obj[]>();
  let notes = '';
  for (const file of templateFiles) {
    if (file.startsWith('_')) continue;
    const name = `${BASE}/${file}`;
    const text = render(chart, name, { ...root, Template: { Name: name, BasePath: BASE } });
    if (file === 'NOTES.txt') {
      notes = text;
      continue;
    }
    files.set(file, text);
    for (const doc of parseAllDocuments(text)) {
      assert.deepEqual(doc.errors, [], `${file} renders to valid YAML:\n${text}`);
      const manifest = doc.toJS() as Obj | null;
      if (manifest === null) continue;
      assert.ok(manifest.apiVersion && manifest.kind && manifest.metadata?.name, `${file}: a manifest with apiVersion, kind and name`);
      byKind.set(manifest.kind, [...(byKind.get(manifest.kind) ?? []), manifest]);
    }
  }
  return { files, byKind, notes };
}

function one(r: Rendered, kind: string): Obj {
  const list = r.byKind.get(kind) ?? [];
  assert.equal(list.length, 1, `exactly one ${kind}`);
  return list[0] as Obj;
}

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** the gateway config from the ConfigMap, loaded by the real loader with secrets from the Deployment's references */
function loadRenderedConfig(values: Obj): { config: ReturnType<typeof loadConfigText>; deployment: Obj; text: string } {
  const keysDir = mkdtempSync(join(tmpdir(), 'regentra-helm-'));
  tempDirs.push(keysDir);
  const r = renderChart(coalesce(values, { secrets: { mountPath: keysDir } }) as Obj);
  const text = one(r, 'ConfigMap').data['gateway.yaml'] as string;
  const deployment = one(r, 'Deployment');
  const container = deployment.spec.template.spec.containers[0] as Obj;
  const env: Record<string, string> = {};
  for (const name of [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string)) {
    const entry = (container.env as Obj[]).find((e) => e.name === name);
    assert.ok(entry?.valueFrom?.secretKeyRef?.name && entry.valueFrom.secretKeyRef.key, `\${${name}} is filled from a Secret by the Deployment`);
    env[name] = name === 'DATABASE_URL' ? 'postgres://gw:pw@db:5432/regentra' : name === 'ENTRA_CLIENT_SECRET' ? 'entra-secret' : key32();
  }
  const secretsVolume = (deployment.spec.template.spec.volumes as Obj[]).find((v) => v.name === 'secrets') as Obj;
  const projected = (secretsVolume.projected.sources as Obj[]).flatMap((s) => s.secret.items.map((i: Obj) => i.path as string));
  for (const m of text.matchAll(/file:(\S+?)"?$/gm)) {
    const path = m[1] as string;
    assert.ok(path.startsWith(`${keysDir}/`), `${path} is in the secrets volume`);
    assert.ok(projected.includes(basename(path)), `${basename(path)} is projected from a Secret`);
    writeFileSync(path, ecPem());
  }
  return { config: loadConfigText(text, { env, baseDir: keysDir }), deployment, text };
}

describe('helm chart: templates', () => {
  test('every template parses, uses known functions only, and includes only defined templates', () => {
    assert.ok(templateFiles.includes('_helpers.tpl') && templateFiles.includes('NOTES.txt'));
    const unknown = [...chart.functions].filter((f) => !KNOWN_FUNCTIONS.has(f));
    assert.deepEqual(unknown, []);
    const missing = [...chart.includes].filter((name) => !chart.templates.has(name));
    assert.deepEqual(missing, []);
    assert.throws(() => addTemplate(newChart(), 'broken', '{{ if .Values.x }}open'), /missing \{\{end\}\}/);
    assert.throws(() => addTemplate(newChart(), 'broken', 'a {{ .Values.x '), /unclosed action/);
  });

  test('every .Values path used by a template exists in values.yaml (or, for an optional section, in the schema)', () => {
    const inDefaults = (keys: string[]) => {
      let node: unknown = defaults;
      for (const key of keys) {
        if (!isMap(node) || !(key in node)) return false;
        node = node[key];
      }
      return true;
    };
    const inSchema = (keys: string[]) => {
      let node: Obj | undefined = schema;
      for (const key of keys) node = node?.properties?.[key];
      return node !== undefined;
    };
    const missing: string[] = [];
    const optional = new Set<string>();
    for (const file of templateFiles) {
      const text = readFileSync(join(TEMPLATES, file), 'utf8');
      // eslint-disable-next-line security/detect-unsafe-regex -- names split at '.', which they cannot contain: linear, on our own templates
      for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
        const keys = (m[1] as string).slice(1).split('.');
        if (inDefaults(keys)) continue;
        if (inSchema(keys)) optional.add(keys.join('.'));
        else missing.push(`${file}: .Values${m[1]}`);
      }
    }
    assert.deepEqual(missing, []);
    // the one optional section: the customer portal (absent from the defaults, set in values-multi-replica.yaml)
    assert.deepEqual([...optional], ['gateway.sites.portal']);
  });
});

describe('helm chart: values.schema.json', () => {
  test('values.yaml, and values-multi-replica.yaml over it, are valid', () => {
    assert.deepEqual(validate(schema, defaults), []);
    assert.deepEqual(validate(schema, valuesWith(multiReplica)), []);
  });

  const refused: [string, Obj, RegExp][] = [
    ['several SQLite replicas', { replicaCount: 3 }, /SQLite serves one replica/],
    ['SQLite with autoscaling', { autoscaling: { enabled: true } }, /SQLite serves one replica/],
    ['PostgreSQL without secrets.databaseUrl', { store: { driver: 'postgres' }, replicaCount: 2 }, /needs secrets\.databaseUrl/],
    [
      'an inline Entra client secret',
      { gateway: { sites: { portal: { upstream: 'http://portal:8080', entra: { clientId: 'x', clientSecret: 'hunter2' } } } } },
      /gateway\.sites\.portal\.entra\.clientSecret: must match/,
    ],
    ['keys inside gateway (the chart manages them)', { gateway: { keys: { session: ['x'] } } }, /gateway\.keys: is not allowed here/],
    ['a store inside gateway', { gateway: { store: { driver: 'sqlite' } } }, /gateway\.store: is not allowed here/],
    ['a listener inside gateway.server', { gateway: { server: { host: '127.0.0.1' } } }, /gateway\.server\.host: is not allowed here/],
    ['an unknown top-level key', { replicas: 2 }, /replicas: is not allowed here/],
    ['a port given as a string', { containerPorts: { http: '8080' } }, /containerPorts\.http: must be integer/],
    ['a host with a scheme', { gateway: { sites: { staff: { hosts: ['https://staff.example.com'] } } } }, /gateway\.sites\.staff\.hosts\[0\]: must match/],
    ['a readiness probe that is not /readyz', { probes: { readinessPath: '/healthz' } }, /probes\.readinessPath: must match/],
    ['a secret reference without a key', { secrets: { sessionKeys: [{ name: 'keys' }] } }, /secrets\.sessionKeys\[0\]\.key: is required/],
  ];
  for (const [what, override, error] of refused) {
    test(`refuses ${what}`, () => {
      const errors = validate(schema, valuesWith(override));
      assert.ok(
        errors.some((e) => error.test(e)),
        `expected ${error} in:\n${errors.join('\n')}`,
      );
    });
  }
});

describe('helm chart: rendered manifests', () => {
  test('defaults: one SQLite replica on a kept volume, recreated on update, hardened pod, probes on the ops port', () => {
    const r = renderChart(defaults);
    assert.deepEqual([...r.byKind.keys()].sort(), ['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Service', 'ServiceAccount']);
    const d = one(r, 'Deployment');
    assert.equal(d.metadata.name, 'gw-regentra-gateway');
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.strategy, { type: 'Recreate' });
    const pod = d.spec.template.spec as Obj;
    const c = pod.containers[0] as Obj;
    assert.equal(c.image, `ghcr.io/regentra/regentra-gateway:${chartMeta.appVersion}`);
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    assert.equal(pod.automountServiceAccountToken, false);
    assert.deepEqual(
      c.ports.map((p: Obj) => [p.name, p.containerPort]),
      [
        ['http', 8080],
        ['ops', 9090],
      ],
    );
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz?exclude=store', port: 'ops' });
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'ops' });
    assert.deepEqual(c.lifecycle.preStop.exec.command, ['sleep', '5']);
    const grace = defaults.gateway.server.shutdownGraceMs / 1000 + defaults.preStopSleepSeconds;
    assert.ok(pod.terminationGracePeriodSeconds > grace, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} must exceed ${grace}`);
    const mounts = Object.fromEntries((c.volumeMounts as Obj[]).map((m) => [m.mountPath, m.name]));
    assert.deepEqual(mounts, { '/config': 'config', '/etc/regentra/secrets': 'secrets', '/data': 'data', '/tmp': 'tmp' });
    const volumes = Object.fromEntries((pod.volumes as Obj[]).map((v) => [v.name, v]));
    assert.equal(volumes.data.persistentVolumeClaim.claimName, 'gw-regentra-gateway-data');
    assert.equal(volumes.secrets.projected.defaultMode, 0o440);
    assert.equal(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(
      pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector.matchLabels,
      d.spec.selector.matchLabels,
    );
    assert.deepEqual(d.spec.selector.matchLabels, d.spec.template.metadata.labels);
    // the checksum is Helm's: sha256 of the rendered configmap.yaml
    const checksum = createHash('sha256')
      .update(r.files.get('configmap.yaml') as string)
      .digest('hex');
    assert.equal(d.spec.template.metadata.annotations['checksum/config'], checksum);

    const pvc = one(r, 'PersistentVolumeClaim');
    assert.equal(pvc.metadata.annotations['helm.sh/resource-policy'], 'keep');
    const svc = one(r, 'Service');
    assert.deepEqual(
      svc.spec.ports.map((p: Obj) => [p.name, p.port, p.targetPort]),
      [
        ['http', 80, 'http'],
        ['ops', 9090, 'ops'],
      ],
    );
    assert.deepEqual(svc.spec.selector, d.spec.selector.matchLabels);
    assert.match(r.notes, /staff\.example\.com \(staff\)/);
    assert.match(r.notes, /exactly one replica/);
  });

  test('multi-replica values: rolling updates without unavailability, HPA, PDB, ServiceMonitor, Ingress for every host, scratch /data', () => {
    const r = renderChart(valuesWith(multiReplica));
    assert.deepEqual([...r.byKind.keys()].sort(), [
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'Ingress',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ]);
    const d = one(r, 'Deployment');
    assert.equal(d.spec.replicas, undefined, 'the HPA owns the replica count');
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const volumes = Object.fromEntries((d.spec.template.spec.volumes as Obj[]).map((v) => [v.name, v]));
    assert.ok(volumes.data.emptyDir && volumes.tmp.emptyDir, '/data and /tmp are emptyDirs on PostgreSQL');
    assert.deepEqual(
      volumes.secrets.projected.sources.map((s: Obj) => s.secret.items[0].path),
      ['signing-0.pem'],
    );
    const env = Object.fromEntries((d.spec.template.spec.containers[0].env as Obj[]).map((e) => [e.name, e.valueFrom?.secretKeyRef ?? e.value]));
    assert.deepEqual(env, {
      REGENTRA_OPS_PORT: '9090',
      REGENTRA_SESSION_KEY_0: { name: 'regentra-gateway-keys', key: 'session-key' },
      REGENTRA_SESSION_KEY_1: { name: 'regentra-gateway-keys', key: 'session-key-previous' },
      REGENTRA_ENCRYPTION_KEY_0: { name: 'regentra-gateway-keys', key: 'encryption-key' },
      ENTRA_CLIENT_SECRET: { name: 'regentra-gateway-entra', key: 'client-secret' },
      DATABASE_URL: { name: 'regentra-gateway-db', key: 'url' },
    });

    const hpa = one(r, 'HorizontalPodAutoscaler');
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas, hpa.spec.scaleTargetRef.name], [3, 10, 'gw-regentra-gateway']);
    assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 70);
    const pdb = one(r, 'PodDisruptionBudget');
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, d.spec.selector.matchLabels);
    const sm = one(r, 'ServiceMonitor');
    assert.deepEqual(sm.spec.endpoints, [{ port: 'ops', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }]);
    assert.equal(sm.metadata.labels.release, 'prometheus');

    const ingress = one(r, 'Ingress');
    assert.equal(ingress.spec.ingressClassName, 'nginx');
    assert.deepEqual(
      ingress.spec.rules.map((rule: Obj) => rule.host),
      ['staff.regentra.example', 'login.support.regentra.example', 'acme.support.regentra.example', 'support.acme.example', 'globex.support.regentra.example'],
    );
    for (const rule of ingress.spec.rules as Obj[])
      assert.deepEqual(rule.http.paths[0].backend.service, { name: 'gw-regentra-gateway', port: { name: 'http' } });
    assert.equal(ingress.spec.tls.length, 2);
    assert.match(r.notes, /support\.acme\.example \(portal: acme\)/);
  });

  test('a replica count above one without autoscaling renders replicas and a PDB; custom affinity replaces the default', () => {
    const r = renderChart(
      valuesWith(multiReplica, {
        autoscaling: { enabled: false },
        replicaCount: 4,
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['edge'] }] }] },
          },
        },
      }),
    );
    const d = one(r, 'Deployment');
    assert.equal(d.spec.replicas, 4);
    assert.equal(r.byKind.has('HorizontalPodAutoscaler'), false);
    assert.equal(one(r, 'PodDisruptionBudget').spec.maxUnavailable, 1);
    assert.deepEqual(Object.keys(d.spec.template.spec.affinity), ['nodeAffinity']);
  });

  test('a release named like the chart keeps the plain name (as in docs/operations.md)', () => {
    const r = renderChart(defaults, 'regentra-gateway');
    assert.equal(one(r, 'Deployment').metadata.name, 'regentra-gateway');
    assert.equal(one(r, 'Service').metadata.name, 'regentra-gateway');
  });

  test('a configuration change changes the checksum annotation (pods roll); an image change does not', () => {
    const checksum = (values: Obj) => one(renderChart(values), 'Deployment').spec.template.metadata.annotations['checksum/config'] as string;
    const base = checksum(defaults);
    assert.notEqual(checksum(valuesWith({ gateway: { log: { level: 'debug' } } })), base);
    assert.notEqual(
      checksum(
        valuesWith({
          secrets: {
            sessionKeys: [
              { name: 'k', key: 'a' },
              { name: 'k', key: 'b' },
            ],
          },
        }),
      ),
      base,
    );
    assert.equal(checksum(valuesWith({ image: { tag: '9.9.9' } })), base);
  });
});

describe('helm chart: the rendered gateway configuration', () => {
  for (const [label, values] of [
    ['values.yaml', defaults],
    ['values-multi-replica.yaml', valuesWith(multiReplica)],
  ] as const) {
    test(`${label}: the ConfigMap passes the gateway's loader, secrets by reference only, ops on 0.0.0.0`, () => {
      const { config: loaded, deployment, text } = loadRenderedConfig(values);
      const config = loaded.config;
      assert.deepEqual(
        loaded.warnings.filter((w) => /inline/.test(w)),
        [],
        'no secret is inline',
      );
      const ports = Object.fromEntries((deployment.spec.template.spec.containers[0].ports as Obj[]).map((p) => [p.name, p.containerPort]));
      assert.deepEqual([config.server.host, config.server.port], ['0.0.0.0', ports.http]);
      assert.deepEqual([config.ops.host, config.ops.port], ['0.0.0.0', ports.ops], 'probes reach the ops listener from outside the pod');
      assert.equal(config.dataDir, '/data');
      assert.equal(config.store.driver, values.store.driver);
      if (config.store.driver === 'postgres') {
        assert.equal(config.store.url, 'postgres://gw:pw@db:5432/regentra');
        assert.equal(config.store.schema, 'regentra');
        assert.equal(config.store.pool.connectionTimeoutMillis, 3000);
      } else {
        assert.equal(config.store.path, '/data/regentra.db');
      }
      assert.equal(config.keys.session.length, values.secrets.sessionKeys.length);
      assert.equal(config.keys.signing.length, values.secrets.signingKeys.length);
      assert.deepEqual(
        config.keys.encryption.map((k) => k.id),
        values.secrets.encryptionKeys.map((k: Obj) => k.id),
      );
      assert.deepEqual(config.sites.staff.hosts, values.gateway.sites.staff.hosts);
      assert.equal(config.server.shutdownGraceMs, values.gateway.server.shutdownGraceMs);
      assert.deepEqual(
        config.sites.portal?.clients.map((c) => c.id) ?? [],
        (values.gateway.sites.portal?.clients ?? []).map((c: Obj) => c.id),
      );
      assert.doesNotMatch(text, /BEGIN PRIVATE KEY|postgres:\/\//, 'the ConfigMap holds references, not secrets');
    });
  }
});

describe('helm chart: the renderer itself (so that the checks above can fail)', () => {
  const run = (src: string, data: unknown = {}) => {
    const c = newChart();
    addTemplate(c, 't', src);
    return render(c, 't', data);
  };
  test('trim markers, ranges with index, printf and nindent follow Go', () => {
    assert.equal(run('a  {{- " b " -}}  c'), 'a b c');
    assert.equal(run('{{ range $i, $v := .L }}{{ $i }}={{ $v }};{{ end }}', { L: ['x', 'y'] }), '0=x;1=y;');
    assert.equal(run('{{ printf "%s-%d" "k" 3 | quote }}'), '"k-3"');
    assert.equal(run('x:{{ dict "a" 1 | toYaml | nindent 2 }}'), 'x:\n  a: 1');
    assert.equal(run('{{ if and .A (not .B) }}yes{{ else if .B }}b{{ else }}no{{ end }}', { A: 1, B: 0 }), 'yes');
  });
  test('Go behaviours that hide bugs are reproduced', () => {
    assert.equal(goNumber(1_000_000), '1e+06');
    assert.equal(goNumber(8080), '8080');
    assert.throws(() => run('{{ .A.b }}', { A: null }), /nil pointer evaluating \.A\.b/);
    assert.throws(() => run('{{ eq .A "1" }}', { A: 1 }), /incompatible types/);
    assert.throws(() => run('{{ .M }}', { M: { a: 1 } }), /prints a map/);
    assert.throws(() => run('{{ nosuch 1 }}'), TemplateError);
    assert.equal(run('[{{ .Missing }}]', {}), '[]');
  });
});
