/**
 * Structural checks of terraform/. Providers cannot be downloaded everywhere the tests run, so
 * `terraform validate` is CI's job; these tests parse the HCL (@cdktf/hcl2json, HashiCorp's own HCL
 * parser compiled to WebAssembly) and check what the code and the configuration must agree on: the
 * deployed entry points, the environment the config loader reads, who may invoke what, the IAM
 * roles, the drift schedule, the training trigger, the metric names, and that scripts/ops/deploy.sh
 * deploys with the same settings as Terraform.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { parse as parseYaml } from 'yaml';
import { DEPLOYED_FUNCTIONS } from '../../src/serving/app';
import { loadConfig, SETTINGS } from '../../src/serving/config';
import { repoRoot } from '../../src/platform/repo-root';
import { buildDriftQuery, driftTableFor } from '../../src/monitoring/drift/bigquery-drift-query';
import { FEATURE_NAMES } from '../../src/monitoring/features/image-features';
import { ALL_METRICS, DRIFT_STATUS_VALUES, METRICS } from '../../src/monitoring/metrics/metric-names';
import { telemetryObjectKey } from '../../src/monitoring/telemetry/telemetry-record';

const SAMPLE_QUERY = {
  table: 'my-project.detector_telemetry.telemetry_shoes',
  model: 'shoes',
  version: '1',
  start: new Date('2024-05-21T00:00:00Z'),
  end: new Date('2024-05-22T00:00:00Z'),
  grids: { score: [0.5], features: {} },
  aiGeneratedLabel: 'ai_generated',
};

const ROOT = repoRoot();
const TERRAFORM = path.join(ROOT, 'terraform');
const MODULE = path.join(TERRAFORM, 'modules', 'http-function');

// hcl2json gives plain JSON: blocks are arrays of objects, expressions are "${...}" strings.
type Hcl = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface FunctionSettings {
  description: string;
  identity: string;
  public: boolean;
  memory: string;
  cpu: string;
  concurrency: number;
  min_instances: number;
  max_instances: number;
  timeout_seconds: number;
}

interface Deployment {
  runtime: string;
  build_environment: Record<string, string>;
  functions: Record<string, FunctionSettings>;
}

function merge(target: Hcl, source: Hcl, where: string): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (existing === undefined) target[key] = value;
    else if (Array.isArray(existing) && Array.isArray(value)) existing.push(...value);
    else if (typeof existing === 'object' && typeof value === 'object') merge(existing, value, `${where}.${key}`);
    else throw new Error(`${where}.${key} is defined twice`);
  }
}

/** Parses every .tf file of a folder into one object, as Terraform reads a module. */
async function loadModule(dir: string): Promise<Hcl> {
  const config: Hcl = {};
  for (const file of fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.tf'))
    .sort()) {
    merge(config, await parse(file, fs.readFileSync(path.join(dir, file), 'utf8')), file);
  }
  return config;
}

function tfText(dir: string): string {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.tf'))
    .map((name) => fs.readFileSync(path.join(dir, name), 'utf8'))
    .join('\n');
}

/** Every string anywhere inside a parsed value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

const isExpression = (value: unknown): boolean => typeof value === 'string' && /(^|[^$])\$\{/.test(value);

/** The value Cloud Build sees: Terraform writes a literal "${" as "$${". */
const unescape = (value: string): string => value.replaceAll('$${', '${');

const matchesGlob = (text: string, glob: string): boolean =>
  new RegExp(
    `^${glob
      .replace(/[.+^$()[\]{}|\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
    's',
  ).test(text);

/** bash's ${var#glob} (shortest) and ${var##glob} (longest): the prefix removed. */
function removePrefix(text: string, glob: string, longest: boolean): string {
  const ends = [...Array(text.length + 1).keys()].filter((end) => matchesGlob(text.slice(0, end), glob));
  return ends.length === 0 ? text : text.slice(longest ? Math.max(...ends) : Math.min(...ends));
}

/** bash's ${var%glob} (shortest) and ${var%%glob} (longest): the suffix removed. */
function removeSuffix(text: string, glob: string, longest: boolean): string {
  const starts = [...Array(text.length + 1).keys()].filter((start) => matchesGlob(text.slice(start), glob));
  return starts.length === 0 ? text : text.slice(0, longest ? Math.min(...starts) : Math.max(...starts));
}

/**
 * Cloud Build's substitution of a Pub/Sub-triggered build: $(body.message.attributes.X) payload
 * bindings, then bash-style ${_VAR}, ${_VAR#glob}, ${_VAR##glob}, ${_VAR%glob}, ${_VAR%%glob}
 * (always on for triggered builds), which may refer to other substitutions.
 */
function substitute(substitutions: Record<string, string>, attributes: Record<string, string>): Record<string, string> {
  const resolved: Record<string, string> = {};
  const resolve = (name: string, seen: string[]): string => {
    if (name in resolved) return resolved[name]!;
    if (seen.includes(name)) throw new Error(`substitution cycle: ${[...seen, name].join(' -> ')}`);
    const raw = substitutions[name];
    if (raw === undefined) throw new Error(`${seen.at(-1) ?? '?'} uses ${name}, which the trigger does not define`);
    const value = unescape(raw)
      .replace(/\$\(body\.message\.attributes\.(\w+)\)/g, (_, key: string) => attributes[key] ?? '')
      .replace(/\$\{(_[A-Z0-9_]+)(?:(##|#|%%|%)([^}]*))?\}/g, (_, ref: string, op: string | undefined, glob: string) => {
        const text = resolve(ref, [...seen, name]);
        if (op === undefined) return text;
        return op.startsWith('#') ? removePrefix(text, glob, op === '##') : removeSuffix(text, glob, op === '%%');
      });
    resolved[name] = value;
    return value;
  };
  for (const name of Object.keys(substitutions)) resolve(name, []);
  return resolved;
}

/** Runs scripts/ops/deploy.sh --dry-run and parses each `gcloud functions deploy` into name and flags. */
function deployCommands(args: string[]): Map<string, Map<string, string>> {
  const result = spawnSync('bash', [path.join(ROOT, 'scripts', 'ops', 'deploy.sh'), '--dry-run', ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`deploy.sh --dry-run failed: ${result.stderr}`);
  const commands = new Map<string, Map<string, string>>();
  let current: Map<string, string> | null = null;
  for (const rawLine of result.stdout.split('\n')) {
    const line = rawLine.replace(/ \\$/, '').trim();
    const start = /^gcloud functions deploy (\S+)$/.exec(line);
    if (start !== null) {
      current = new Map();
      commands.set(start[1]!, current);
    } else if (line.startsWith('--') && current !== null) {
      const arg = line.replace(/\\(.)/g, '$1');
      const equals = arg.indexOf('=');
      if (equals === -1) current.set(arg.slice(2), '');
      else current.set(arg.slice(2, equals), arg.slice(equals + 1));
    } else if (!line.startsWith('bash ')) {
      current = null;
    }
  }
  return commands;
}

const deployment = JSON.parse(fs.readFileSync(path.join(TERRAFORM, 'functions.json'), 'utf8')) as Deployment;

describe('terraform/', () => {
  let root: Hcl;
  let module: Hcl;
  let locals: Hcl;
  const resource = (type: string, name: string): Hcl => {
    const found = root.resource?.[type]?.[name]?.[0];
    if (found === undefined) throw new Error(`no resource ${type}.${name}`);
    return found;
  };

  beforeAll(async () => {
    root = await loadModule(TERRAFORM);
    module = await loadModule(MODULE);
    locals = Object.assign({}, ...(root.locals as Hcl[]));
  });

  describe('functions', () => {
    it('deploys every registered entry point, and only those, through the http-function module', () => {
      expect(Object.keys(deployment.functions).sort()).toEqual([...DEPLOYED_FUNCTIONS].sort());

      expect(locals.deployment).toMatch(/jsondecode\(file\("\$\{path\.module\}\/functions\.json"\)\)/);
      expect(locals.functions).toBe('${local.deployment.functions}');
      const call = root.module.function[0];
      expect(call).toMatchObject({
        source: './modules/http-function',
        for_each: '${local.functions}',
        name: '${each.key}',
        entry_point: '${each.key}',
        runtime: '${local.deployment.runtime}',
        build_environment: '${local.deployment.build_environment}',
      });
      expect(Object.keys(root.module)).toEqual(['function']);

      const fn = module.resource.google_cloudfunctions2_function.this[0];
      expect(fn.build_config[0]).toMatchObject({ entry_point: '${var.entry_point}', runtime: '${var.runtime}' });
      // No function is declared anywhere but in the module.
      expect(root.resource.google_cloudfunctions2_function).toBeUndefined();
    });

    it('runs a Node runtime the package supports, without the onnxruntime CUDA download', () => {
      const engines = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node as string;
      expect(deployment.runtime).toMatch(/^nodejs\d+$/);
      expect(Number(deployment.runtime.slice('nodejs'.length))).toBeGreaterThanOrEqual(Number(/\d+/.exec(engines)![0]));
      expect(deployment.build_environment).toEqual({ ONNXRUNTIME_NODE_INSTALL: 'skip' });
    });

    it.each(Object.entries(deployment.functions))('sizes %s within what Cloud Functions gen2 accepts', (_, settings) => {
      expect(settings.memory).toMatch(/^\d+(Mi|Gi)$/);
      // Serving more than one request at a time needs at least one whole vCPU.
      if (settings.concurrency > 1) expect(Number(settings.cpu)).toBeGreaterThanOrEqual(1);
      expect(settings.min_instances).toBeLessThanOrEqual(settings.max_instances);
      expect(settings.timeout_seconds).toBeLessThanOrEqual(3600);
      expect(Object.keys(locals.environments)).toContain(settings.identity);
      expect(Object.keys(locals.service_accounts)).toContain(settings.identity);
    });

    it('sets every variable whose default only works locally, names only variables the config loader reads, and gives values it accepts', () => {
      const known = new Set<string>([...SETTINGS.map((setting) => setting.env), 'LOG_EXECUTION_ID']);
      const localOnly = SETTINGS.filter((setting) => setting.default.startsWith('<repo>')).map((setting) => setting.env);
      expect(localOnly).toEqual(expect.arrayContaining(['MODEL_STORE', 'TELEMETRY_STORE']));

      for (const [identity, environment] of Object.entries(locals.environments as Record<string, Record<string, string>>)) {
        expect({ identity, unknown: Object.keys(environment).filter((name) => !known.has(name)) }).toEqual({ identity, unknown: [] });
        expect({ identity, missing: localOnly.filter((name) => !(name in environment)) }).toEqual({ identity, missing: [] });
        expect(environment.MODEL_STORE).toBe('gs://${local.bucket_name}/models');
        expect(environment.TELEMETRY_STORE).toBe('gs://${local.bucket_name}/telemetry');
        expect(environment.METRICS_SINK).toBe('cloud-monitoring');
        expect(environment.GOOGLE_CLOUD_PROJECT).toBe('${var.project_id}');

        const literal = Object.fromEntries(Object.entries(environment).filter(([, value]) => !isExpression(value)));
        expect(() => loadConfig(literal)).not.toThrow();
      }
    });

    it('mounts the API keys into the public functions and keeps drift behind IAM only', () => {
      const call = root.module.function[0];
      expect(call.secret_volumes).toMatch(/^\$\{each\.value\.public \? \[/);
      expect(call.secret_volumes).toMatch(/mount_path = "\/etc\/secrets"/);
      expect(call.secret_volumes).toMatch(/path {7}= "api-keys"/);
      const [whenPublic, whenPrivate] = (call.invokers as string).split(' : ');
      expect(whenPublic).toMatch(/^\$\{each\.value\.public \? tomap\(\{ public = "allUsers" \}\)$/);
      expect(whenPrivate).toContain('google_service_account.role["scheduler"].member');
      expect(whenPrivate).not.toContain('allUsers');
      const everyone = [root.resource, root.module, module.resource].flatMap(strings).filter((value) => /allUsers|allAuthenticatedUsers/.test(value));
      expect(everyone).toEqual([call.invokers]);

      for (const [name, settings] of Object.entries(deployment.functions)) {
        const environment = locals.environments[settings.identity] as Record<string, string>;
        if (settings.public) {
          expect({ name, file: environment.API_KEYS_FILE }).toEqual({ name, file: '/etc/secrets/api-keys' });
          // The rate limit keys on the address Google's front end saw, not on what the client wrote.
          expect({ name, hops: environment.TRUSTED_PROXY_HOPS }).toEqual({ name, hops: '1' });
        } else expect({ name, keys: [environment.API_KEYS_FILE, environment.API_KEYS] }).toEqual({ name, keys: [undefined, undefined] });
      }
      expect(deployment.functions.drift?.public).toBe(false);
    });
  });

  describe('IAM', () => {
    it('grants no primitive role and no authoritative IAM policy', () => {
      for (const config of [root, module]) {
        expect(strings(config).filter((value) => /roles\/(owner|editor|viewer)\b/.test(value))).toEqual([]);
        const types = Object.keys(config.resource ?? {});
        expect(types.filter((type) => /_iam_(binding|policy)$/.test(type))).toEqual([]);
      }
      expect(tfText(TERRAFORM)).not.toMatch(/roles\/(owner|editor|viewer)\b/);
      const roles = strings(root).filter((value) => value.startsWith('roles/'));
      expect(roles.length).toBeGreaterThan(10);
    });

    it('gives each role its own service account, named as scripts/ops/deploy.sh expects', () => {
      expect(Object.keys(locals.service_accounts).sort()).toEqual(['builder', 'deployer', 'drift', 'scheduler', 'serving', 'training', 'vertex']);
      expect(resource('google_service_account', 'role')).toMatchObject({ for_each: '${local.service_accounts}', account_id: '${var.name_prefix}-${each.key}' });
      expect(resource('google_artifact_registry_repository', 'functions').repository_id).toBe('${var.name_prefix}-functions');
      expect(resource('google_secret_manager_secret', 'api_keys').secret_id).toBe('${var.name_prefix}-api-keys');
      expect(locals.bucket_name).toContain('"${var.project_id}-${var.name_prefix}"');
    });
  });

  it('keeps models, datasets and telemetry in one versioned bucket with uniform access and a telemetry lifecycle', () => {
    const bucket = resource('google_storage_bucket', 'data');
    expect(bucket).toMatchObject({ name: '${local.bucket_name}', uniform_bucket_level_access: true, public_access_prevention: 'enforced' });
    expect(bucket.versioning[0].enabled).toBe(true);
    const telemetryRules = (bucket.lifecycle_rule as Hcl[]).filter((rule) => rule.condition[0].matches_prefix?.includes('telemetry/'));
    expect(telemetryRules).toEqual([expect.objectContaining({ action: [{ type: 'Delete' }] })]);
    expect(locals.data_folders).toBe('${toset(["models", "datasets", "telemetry", "function-sources", "vertex-staging", "feedback"])}');
  });

  describe('drift over BigQuery', () => {
    it('enables BigQuery and keeps the dataset where the bucket is', () => {
      expect(locals.services).toContain('"bigquery.googleapis.com"');
      expect(resource('google_bigquery_dataset', 'telemetry')).toMatchObject({ dataset_id: '${var.bigquery_dataset}', location: '${var.region}' });
    });

    it('has one external NDJSON table per model over its dt=/hour= objects, which queries must filter by partition', () => {
      const table = resource('google_bigquery_table', 'telemetry');
      expect(table.for_each).toBe('${local.bigquery_models}');
      // driftTableFor (bigquery-drift-query.ts) names the same table: telemetry_<model with - as _>.
      expect(table.table_id).toBe('telemetry_${replace(each.key, "-", "_")}');
      expect(driftTableFor('p-roject.ds.telemetry_{model}', 'product-photos')).toBe('p-roject.ds.telemetry_product_photos');
      const external = table.external_data_configuration[0];
      expect(external).toMatchObject({
        source_format: 'NEWLINE_DELIMITED_JSON',
        autodetect: false,
        source_uris: ['gs://${google_storage_bucket.data.name}/telemetry/${each.key}/dt=*'],
      });
      // The telemetry layout of telemetry-record.ts, and the partition columns the query filters on.
      expect(telemetryObjectKey('m', new Date('2024-05-21T10:15:00Z'), 'i', 1)).toBe('m/dt=2024-05-21/hour=10/i-000001.ndjson');
      expect(external.hive_partitioning_options[0]).toEqual({
        mode: 'CUSTOM',
        source_uri_prefix: 'gs://${google_storage_bucket.data.name}/telemetry/${each.key}/{dt:DATE}/{hour:INTEGER}',
        require_partition_filter: true,
      });
      expect(buildDriftQuery(SAMPLE_QUERY).query).toContain('WHERE dt BETWEEN @start_date AND @end_date');
    });

    it('declares every field of a telemetry record in the table schema', () => {
      const schema = strings([locals.telemetry_schema, locals.telemetry_feature_fields]);
      const declares = (field: string) => schema.some((value) => value === field || value.includes(`"${field}"`));
      for (const field of ['time', 'model', 'model_version', 'probability', 'prediction', 'features', 'format', ...FEATURE_NAMES]) {
        expect({ field, declared: declares(field) }).toEqual({ field, declared: true });
      }
      expect(schema).toContain('TIMESTAMP');
    });

    it('lets the drift account run jobs and read the dataset, and nobody else any BigQuery role', () => {
      expect(resource('google_project_iam_member', 'drift_runs_queries')).toMatchObject({
        role: 'roles/bigquery.jobUser',
        member: '${google_service_account.role["drift"].member}',
      });
      expect(resource('google_bigquery_dataset_iam_member', 'drift_reads_telemetry_tables')).toMatchObject({
        dataset_id: '${google_bigquery_dataset.telemetry.dataset_id}',
        role: 'roles/bigquery.dataViewer',
        member: '${google_service_account.role["drift"].member}',
      });
      const bigqueryRoles = strings(root).filter((value) => value.startsWith('roles/bigquery.'));
      expect(bigqueryRoles.sort()).toEqual(['roles/bigquery.dataViewer', 'roles/bigquery.jobUser']);
    });

    it('gives the drift function a reader and a table template the config accepts', () => {
      const env = locals.environments.drift as Record<string, string>;
      expect(env.DRIFT_READER).toBe('${var.drift_reader}');
      expect(env.BIGQUERY_TABLE).toBe('${var.project_id}.${var.bigquery_dataset}.telemetry_{model}');
      expect(loadConfig({ DRIFT_READER: 'bigquery', BIGQUERY_TABLE: 'my-project.detector_telemetry.telemetry_{model}' }).bigqueryTable).toBe(
        'my-project.detector_telemetry.telemetry_{model}',
      );
    });
  });

  it('has the scheduler POST to drift with an OIDC token of its own service account', () => {
    const target = resource('google_cloud_scheduler_job', 'drift').http_target[0];
    expect(target.http_method).toBe('POST');
    expect(target.uri).toBe('${module.function["drift"].url}');
    expect(target.oidc_token[0]).toEqual({
      service_account_email: '${google_service_account.role["scheduler"].email}',
      audience: '${module.function["drift"].url}',
    });
  });

  describe('training trigger', () => {
    const BUCKET = 'detector-data';
    let trigger: Hcl;
    let accepts: (objectId: string, bucket?: string) => boolean;

    beforeAll(() => {
      trigger = resource('google_cloudbuild_trigger', 'training');
      const filter = trigger.filter as string;
      const [, regex] = /_OBJECT_ID\.matches\('([^']+)'\)/.exec(filter)!;
      expect(filter).toContain("_BUCKET == '${google_storage_bucket.data.name}'");
      accepts = (objectId, bucket = BUCKET) => bucket === BUCKET && new RegExp(regex!).test(objectId);
    });

    it('listens to new objects under datasets/ through Pub/Sub', () => {
      const notification = resource('google_storage_notification', 'datasets');
      expect(notification).toMatchObject({ event_types: ['OBJECT_FINALIZE'], object_name_prefix: 'datasets/', topic: '${google_pubsub_topic.datasets.id}' });
      expect(trigger.pubsub_config[0].topic).toBe('${google_pubsub_topic.datasets.id}');
      expect(trigger.service_account).toBe('${google_service_account.role["training"].id}');
    });

    it.each([
      ['datasets/shoes/v3/dataset.json', true],
      ['datasets/cifake/train-cleaned-1/dataset.json', true],
      ['datasets/shoes/v3/train/REAL/0001.jpg', false],
      ['datasets/shoes/v3/train/dataset.json', false],
      ['datasets/shoes/dataset.json', false],
      ['datasets/shoes/v3/dataset.json.tmp', false],
      ['datasets/shoes/v3/datasetXjson', false],
      ['datasets/Shoes/v3/dataset.json', false],
      ['models/shoes/v3/dataset.json', false],
    ])('starts a build for %s: %s', (objectId, expected) => {
      expect(accepts(objectId)).toBe(expected);
    });

    it('ignores a dataset.json in another bucket', () => {
      expect(accepts('datasets/shoes/v3/dataset.json', 'someone-else')).toBe(false);
    });

    it('only accepts dataset names that are valid model names', () => {
      for (const name of ['shoes', 'cifake', 'a_b-c']) {
        expect(accepts(`datasets/${name}/v1/dataset.json`)).toBe(true);
        expect(() => loadConfig({ DEFAULT_MODEL: name })).not.toThrow();
      }
    });

    it('derives the dataset URI and model name from the object name', () => {
      const values = substitute(trigger.substitutions, { objectId: 'datasets/shoes/v3/dataset.json', bucketId: BUCKET });
      expect(values._DATASET_URI).toBe(`gs://${BUCKET}/datasets/shoes/v3`);
      expect(values._MODEL_NAME).toBe('shoes');
      expect(trigger.substitutions).toMatchObject({
        _MODEL_STORE: 'gs://${google_storage_bucket.data.name}/models',
        _ARTIFACT_REPO: '${google_artifact_registry_repository.training.repository_id}',
        _EPOCHS: '${var.training_epochs == null ? "" : tostring(var.training_epochs)}',
        _REGION: '${var.region}',
        _RUNNER: '${var.training_runner}',
        _VERTEX_SA: '${google_service_account.role["vertex"].email}',
        _VERTEX_STAGE: '${local.vertex_staging_uri}',
      });
    });

    it("runs the repository's pipeline/cloudbuild.yaml and gives it every substitution it uses", () => {
      const file = trigger.git_file_source[0].path as string;
      expect(file).toBe('pipeline/cloudbuild.yaml');
      const buildConfig = parseYaml(fs.readFileSync(path.join(ROOT, file), 'utf8')) as Hcl;
      const declared = Object.keys(buildConfig.substitutions ?? {});
      const used = new Set([...JSON.stringify(buildConfig.steps ?? []).matchAll(/\$\{?(_[A-Z][A-Z0-9_]*)/g)].map((match) => match[1]!));
      expect(used).toEqual(
        new Set(['_DATASET_URI', '_MODEL_NAME', '_MODEL_STORE', '_ARTIFACT_REPO', '_EPOCHS', '_REGION', '_RUNNER', '_VERTEX_STAGE', '_VERTEX_SA']),
      );
      const provided = new Set([...Object.keys(trigger.substitutions), ...declared]);
      expect([...used].filter((name) => !provided.has(name))).toEqual([]);
    });
  });

  describe('Vertex AI training', () => {
    it('enables the API and lets the training build start jobs as the vertex account, and as no other', () => {
      expect(locals.services).toContain('aiplatform.googleapis.com');
      expect(resource('google_project_iam_member', 'training_runs_vertex_jobs')).toMatchObject({
        role: 'roles/aiplatform.user',
        member: '${google_service_account.role["training"].member}',
      });
      expect(resource('google_service_account_iam_member', 'training_acts_as_vertex')).toMatchObject({
        service_account_id: '${google_service_account.role["vertex"].name}',
        role: 'roles/iam.serviceAccountUser',
        member: '${google_service_account.role["training"].member}',
      });
    });

    it('gives the jobs datasets/ to read and vertex-staging/ to write, nothing more of the bucket', () => {
      const grants = Object.values(locals.folder_grants as Record<string, { folder: string; role: string; account: string }>);
      expect(grants.filter((grant) => grant.account === 'vertex')).toEqual([
        { folder: 'datasets', role: 'roles/storage.objectViewer', account: 'vertex' },
        { folder: 'vertex-staging', role: 'roles/storage.objectUser', account: 'vertex' },
      ]);
      expect(grants).toContainEqual({ folder: 'vertex-staging', role: 'roles/storage.objectUser', account: 'training' });
      const rules = resource('google_storage_bucket', 'data').lifecycle_rule as Hcl[];
      expect(rules.filter((rule) => rule.condition[0].matches_prefix?.includes('vertex-staging/'))).toEqual([
        expect.objectContaining({ action: [{ type: 'Delete' }] }),
      ]);
    });

    it("lets Vertex AI's service agent pull the CUDA image from the training repository", () => {
      expect(resource('google_artifact_registry_repository_iam_member', 'vertex_agent_pulls_cuda_image')).toMatchObject({
        role: 'roles/artifactregistry.reader',
        repository: '${google_artifact_registry_repository.training.name}',
      });
      expect(locals.training_cuda_image).toMatch(/\/training-cuda"?\}?$/);
    });
  });

  describe('monitoring', () => {
    it('refers only to metrics the code writes', () => {
      const types = new Set(ALL_METRICS.map((metric) => metric.type));
      const referenced = [...new Set(tfText(TERRAFORM).match(/custom\.googleapis\.com\/[a-z0-9_/]+/g) ?? [])];
      expect(referenced.length).toBeGreaterThanOrEqual(8);
      expect(referenced.filter((type) => !types.has(type))).toEqual([]);
    });

    it('alerts on drift, on the 5xx share and on p95 latency', () => {
      const drift = resource('google_monitoring_alert_policy', 'drift').conditions[0].condition_threshold[0];
      expect(drift.filter).toContain('${local.metric.drift_status}');
      expect(locals.metric.drift_status).toBe(METRICS.driftStatus.type);
      expect(drift.threshold_value).toBeGreaterThan(DRIFT_STATUS_VALUES.warning);
      expect(drift.threshold_value).toBeLessThan(DRIFT_STATUS_VALUES.drift);

      const errors = resource('google_monitoring_alert_policy', 'error_rate').conditions[0].condition_threshold[0];
      expect(errors.filter).toContain('metric.label.response_code_class = "5xx"');
      expect(errors.denominator_filter).toContain('run.googleapis.com/request_count');

      const latency = resource('google_monitoring_alert_policy', 'latency').conditions[0].condition_threshold[0];
      expect(latency.filter).toContain('${local.metric.prediction_latency}');
      expect(locals.metric.prediction_latency).toBe(METRICS.predictionLatency.type);
      expect(latency.aggregations[0].cross_series_reducer).toBe('REDUCE_PERCENTILE_95');
    });
  });

  it('pins every provider to an exact version, the same in the module', () => {
    const versions = (config: Hcl): Record<string, string> =>
      Object.fromEntries(
        Object.entries(config.terraform[0].required_providers[0] as Record<string, { version: string }>).map(([name, spec]) => [name, spec.version]),
      );
    const rootVersions = versions(root);
    expect(Object.values(rootVersions).every((version) => /^\d+\.\d+\.\d+$/.test(version))).toBe(true);
    expect(versions(module)).toEqual({ google: rootVersions.google });
  });

  describe('scripts/ops/deploy.sh', () => {
    const project = 'demo-project';
    let commands: Map<string, Map<string, string>>;

    beforeAll(() => {
      commands = deployCommands(['--project', project]);
    });

    it('deploys every function of functions.json with its sizing', () => {
      expect([...commands.keys()].sort()).toEqual(Object.keys(deployment.functions).sort());
      for (const [name, settings] of Object.entries(deployment.functions)) {
        const flags = Object.fromEntries(commands.get(name)!);
        expect({ name, ...flags }).toMatchObject({
          name,
          gen2: '',
          'trigger-http': '',
          runtime: deployment.runtime,
          'entry-point': name,
          memory: settings.memory,
          cpu: settings.cpu,
          concurrency: String(settings.concurrency),
          'min-instances': String(settings.min_instances),
          'max-instances': String(settings.max_instances),
          timeout: `${settings.timeout_seconds}s`,
          'set-build-env-vars': Object.entries(deployment.build_environment)
            .map(([key, value]) => `${key}=${value}`)
            .join(','),
          'service-account': `detector-${settings.identity}@${project}.iam.gserviceaccount.com`,
          'build-service-account': `projects/${project}/serviceAccounts/detector-builder@${project}.iam.gserviceaccount.com`,
          'docker-repository': `projects/${project}/locations/europe-west1/repositories/detector-functions`,
        });
        if (settings.public) expect(flags['set-secrets']).toBe('/etc/secrets/api-keys=detector-api-keys:latest');
        else expect(flags['clear-secrets']).toBe('');
      }
    });

    it('sets the same environment as Terraform, with the defaults of variables.tf', () => {
      const variables = root.variable as Record<string, Hcl[]>;
      const context: Record<string, string> = {
        'local.bucket_name': `${project}-${variables.name_prefix![0]!.default}`,
        'var.project_id': project,
      };
      const evaluate = (value: string): string =>
        value
          .replace(/\$\{tostring\((var\.\w+)\)\}/g, '${$1}')
          .replace(/\$\{join\(",", (var\.\w+)\)\}/g, '${$1}')
          .replace(/\$\{([\w.]+)\}/g, (_, ref: string) => {
            if (ref in context) return context[ref]!;
            const variable = /^var\.(\w+)$/.exec(ref);
            if (variable !== null && variables[variable[1]!]) {
              const fallback = variables[variable[1]!]![0]!.default;
              return Array.isArray(fallback) ? fallback.join(',') : String(fallback);
            }
            throw new Error(`cannot evaluate ${ref}`);
          });

      for (const [name, settings] of Object.entries(deployment.functions)) {
        const raw = commands.get(name)!.get('set-env-vars')!;
        const [, delimiter, list] = /^\^(.)\^(.*)$/.exec(raw)!;
        const deployed = Object.fromEntries(list!.split(delimiter!).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
        const terraform = Object.fromEntries(
          Object.entries(locals.environments[settings.identity] as Record<string, string>).map(([key, value]) => [key, evaluate(value)]),
        );
        expect({ name, env: deployed }).toEqual({ name, env: terraform });
      }
    });
  });
});
