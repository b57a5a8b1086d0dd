'use client';
import { useState } from 'react';
import { WEBHOOK_EVENTS } from '@modelyard/contracts';
import { ApiField, ApiForm } from '@/components/api-form';
import { text } from '@/components/form';
import { ConfirmButton } from '@/components/confirm-button';
import { OneTimeSecret } from '@/components/one-time-secret';

export function CreateWebhookForm() {
  const [created, setCreated] = useState<{ url: string; secret: string } | null>(null);
  return (
    <>
      {created ? (
        <OneTimeSecret secret={created.secret} secretLabel="New webhook signing secret" onDone={() => setCreated(null)}>
          <strong>Webhook to {created.url} created.</strong> Copy its signing secret now: receivers check{' '}
          <code>X-Modelyard-Signature</code> with it. It will not be shown again.
        </OneTimeSecret>
      ) : null}
      <ApiForm
        label="Create webhook"
        submitLabel="Create webhook"
        validate={(form) => (form.getAll('events').length === 0 ? 'Choose at least one event.' : null)}
        submit={(form, api) => {
          setCreated(null);
          const ticked = form.getAll('events').map(String);
          return api.createWebhook({
            url: text(form, 'url'),
            description: text(form, 'description'),
            // In the API's order, whatever order they were ticked in.
            events: WEBHOOK_EVENTS.filter((ev) => ticked.includes(ev)),
          });
        }}
        onSuccess={(result) => setCreated({ url: result.webhook.url, secret: result.secret })}
      >
        <ApiField id="webhook-url" label="URL" size="wide">
          <input
            name="url"
            type="url"
            required
            maxLength={2048}
            placeholder="https://hooks.example.com/modelyard"
            autoComplete="off"
          />
        </ApiField>
        <ApiField id="webhook-description" label="Description" size="wide">
          <input name="description" type="text" maxLength={500} autoComplete="off" />
        </ApiField>
        <fieldset className="field field-full scope-picker">
          <legend>Events</legend>
          {WEBHOOK_EVENTS.map((ev) => (
            <label key={ev} className="checkbox">
              <input type="checkbox" name="events" value={ev} />
              <span className="mono">{ev}</span>
            </label>
          ))}
        </fieldset>
      </ApiForm>
    </>
  );
}

export function DeleteWebhookButton({ id, url }: { id: string; url: string }) {
  return (
    <ConfirmButton
      label="Delete"
      confirmLabel="Delete for good"
      ariaLabel={`Delete webhook ${url}`}
      action={(api) => api.deleteWebhook(id)}
    />
  );
}
