'use client';
import { useState, type FormEvent } from 'react';
import { WEBHOOK_EVENTS, type WebhookEvent } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';
import { ConfirmButton } from '@/components/confirm-button';
import { OneTimeSecret } from '@/components/one-time-secret';

export function CreateWebhookForm() {
  const { run, pending, error, setError } = useApiAction();
  const [events, setEvents] = useState<WebhookEvent[]>([]);
  const [created, setCreated] = useState<{ url: string; secret: string } | null>(null);

  function toggle(event: WebhookEvent, on: boolean) {
    setEvents((prev) => (on ? [...prev.filter((e) => e !== event), event] : prev.filter((e) => e !== event)));
  }

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    if (events.length === 0) {
      setError('Choose at least one event.');
      return;
    }
    setCreated(null);
    const result = await run((api) => api.createWebhook({
      url: String(form.get('url')).trim(),
      description: String(form.get('description') ?? '').trim(),
      // In the API's order, whatever order they were ticked in.
      events: WEBHOOK_EVENTS.filter((ev) => events.includes(ev)),
    }));
    if (result.ok) {
      setCreated({ url: result.data.webhook.url, secret: result.data.secret });
      formEl.reset();
      setEvents([]);
    }
  }

  return (
    <>
      {created ? (
        <OneTimeSecret secret={created.secret} secretLabel="New webhook signing secret" onDone={() => setCreated(null)}>
          <strong>Webhook to {created.url} created.</strong> Copy its signing secret now: receivers check
          {' '}<code>X-Modelyard-Signature</code> with it. It will not be shown again.
        </OneTimeSecret>
      ) : null}
      <form className="form-grid" onSubmit={onSubmit} aria-label="Create webhook">
        <div className="field field-wide">
          <label htmlFor="webhook-url">URL</label>
          <input id="webhook-url" name="url" type="url" required maxLength={2048} placeholder="https://hooks.example.com/modelyard" autoComplete="off" />
        </div>
        <div className="field field-wide">
          <label htmlFor="webhook-description">Description</label>
          <input id="webhook-description" name="description" type="text" maxLength={500} autoComplete="off" />
        </div>
        <fieldset className="field field-full scope-picker">
          <legend>Events</legend>
          {WEBHOOK_EVENTS.map((ev) => (
            <label key={ev} className="checkbox">
              <input type="checkbox" value={ev} checked={events.includes(ev)} onChange={(e) => toggle(ev, e.target.checked)} />
              <span className="mono">{ev}</span>
            </label>
          ))}
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={pending}>Create webhook</button>
        </div>
        <ErrorAlert message={error} />
      </form>
    </>
  );
}

export function DeleteWebhookButton({ id, url }: { id: string; url: string }) {
  return <ConfirmButton label="Delete" confirmLabel="Delete for good" ariaLabel={`Delete webhook ${url}`} action={(api) => api.deleteWebhook(id)} />;
}
