/**
 * The bulk scoring job as Terraform provisions it agrees with the command it runs: the job's
 * tasks get the model store and default model the CLI reads, its identity may read models and the
 * catalogue and write results only, and the image built for it starts `detector`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { parse as parseYaml } from 'yaml';
import { SETTINGS } from '../../src/serving/config';
import { repoRoot } from '../../src/platform/repo-root';

const ROOT = repoRoot();
type Hcl = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let scoring: Hcl;
beforeAll(async () => {
  scoring = (await parse('scoring.tf', fs.readFileSync(path.join(ROOT, 'terraform', 'scoring.tf'), 'utf8'))) as Hcl;
});

describe('the bulk scoring job', () => {
  it('is a Cloud Run v2 job whose task count is a variable, running as its own service account', () => {
    const job = scoring.resource.google_cloud_run_v2_job.score[0];
    expect(job.template[0].task_count).toBe('${var.score_task_count}');
    const task = job.template[0].template[0];
    expect(task.service_account).toBe('${google_service_account.scoring.email}');
    const container = task.containers[0];
    expect(container.image).toMatch(/google_artifact_registry_repository\.scoring\.repository_id\}\/detector:latest$/);
    const env = Object.fromEntries((container.env as Array<{ name: string; value: string }>).map((entry) => [entry.name, entry.value]));
    expect(env).toEqual({ MODEL_STORE: 'gs://${local.bucket_name}/models', DEFAULT_MODEL: '${var.default_model}', GOOGLE_CLOUD_PROJECT: '${var.project_id}' });
    const known = new Set(SETTINGS.map((setting) => setting.env));
    expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
  });

  it('may read models and the catalogue and write results, and nothing wider', () => {
    const reads = scoring.resource.google_storage_managed_folder_iam_member.scoring_reads[0];
    expect(reads.role).toBe('roles/storage.objectViewer');
    const writes = scoring.resource.google_storage_managed_folder_iam_member.scoring_writes_results[0];
    expect(writes.role).toBe('roles/storage.objectUser');
    expect(writes.managed_folder).toContain('scoring["results"]');
    expect(JSON.stringify(scoring)).not.toMatch(/roles\/(owner|editor|viewer|storage\.admin|storage\.objectAdmin)"/);
    expect(scoring.resource.google_project_iam_member).toBeUndefined();
  });

  it('is built from a Dockerfile whose entry point is the detector command', () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, 'scripts', 'detector', 'score-job.Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "scripts\/detector\/detector\.js"\]$/m);
    expect(dockerfile).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip/);
    const build = parseYaml(fs.readFileSync(path.join(ROOT, 'scripts', 'detector', 'score-job.cloudbuild.yaml'), 'utf8')) as {
      steps: Array<{ args: string[] }>;
      images: string[];
    };
    expect(build.steps[0]!.args).toEqual(expect.arrayContaining(['-f', 'scripts/detector/score-job.Dockerfile']));
    expect(build.images[0]).toMatch(/\/detector:latest$/);
  });
});
