import type { Metadata } from 'next';
import Link from '@/components/project';
import { getMe, load } from '@/lib/api.server';
import { jobAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { NewBatchJobForm } from './new-batch-job-form';

export const metadata: Metadata = { title: 'New batch job' };

/** The form offers models from one page of the list; the API's page limit. */
const MODEL_LIMIT = 200;

export default async function NewBatchJobPage({ searchParams }: PageProps<'/jobs/new'>) {
  const preselect = (await searchParams).model;
  const me = await getMe();
  if (!me.ok) return null; // the layout shows why
  const { canWrite } = jobAbilities(me.data.role);
  const models = canWrite ? await load((api) => api.listModels({ limit: MODEL_LIMIT })) : null;

  return (
    <>
      <div className="page-header">
        <p className="breadcrumb">
          <Link href="/jobs">Jobs</Link> /
        </p>
        <h1>New batch job</h1>
        <p className="muted">
          Score a CSV file (with a header row) or a JSON Lines file with a model. The output has one row per input row;
          rows that cannot be scored go to an errors file with the reason.
        </p>
      </div>
      {!models ? (
        <ErrorAlert
          message={`Starting batch jobs needs the scientist role or higher; you are signed in as a ${me.data.role}.`}
        />
      ) : !models.ok ? (
        <ErrorAlert message={models.message} />
      ) : models.data.items.length === 0 ? (
        <section className="card empty-state">
          <h2>No models yet</h2>
          <p className="muted">
            Register a model on the <Link href="/models">Models</Link> page first.
          </p>
        </section>
      ) : (
        <section className="card" aria-labelledby="new-job-title">
          <h2 id="new-job-title" className="visually-hidden">
            Batch job
          </h2>
          <NewBatchJobForm
            models={models.data.items.map((m) => ({ name: m.name, productionVersion: m.productionVersion }))}
            initialModel={typeof preselect === 'string' ? preselect : undefined}
          />
        </section>
      )}
    </>
  );
}
