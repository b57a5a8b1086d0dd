'use client';
import { useState, type FormEvent } from 'react';
import { SCOPES_BY_ROLE, type Role, type Scope, type TCreateApiKeyRequest } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';
import { OneTimeSecret } from '@/components/one-time-secret';

export interface OwnerOption {
  id: string;
  name: string;
  role: Role;
}

export function CreateApiKeyForm({ myRole, serviceAccounts }: { myRole: Role; serviceAccounts: OwnerOption[] | null }) {
  const { run, pending, error, setError } = useApiAction();
  const [ownerId, setOwnerId] = useState('');
  const [scopes, setScopes] = useState<Scope[]>([]);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);

  // A key never grants more than its owner has: offer only the scopes the owner's role allows.
  const owner = serviceAccounts?.find((s) => s.id === ownerId);
  const allowed = SCOPES_BY_ROLE[owner?.role ?? myRole];
  const chosen = scopes.filter((s) => allowed.includes(s));

  function toggle(scope: Scope, on: boolean) {
    setScopes((prev) => (on ? [...prev.filter((s) => s !== scope), scope] : prev.filter((s) => s !== scope)));
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    if (chosen.length === 0) {
      setError('Choose at least one scope.');
      return;
    }
    const expires = String(form.get('expiresOn') ?? '');
    const models = String(form.get('models') ?? '').split(',').map((m) => m.trim()).filter(Boolean);
    const body: TCreateApiKeyRequest = {
      name: String(form.get('name')).trim(),
      scopes: chosen,
      modelAllowList: models,
      // A date picker gives a day; the key stops working when that day starts in UTC.
      expiresAt: expires ? new Date(`${expires}T00:00:00Z`).toISOString() : undefined,
      serviceAccountId: ownerId || undefined,
    };
    setCreated(null);
    const result = await run((api) => api.createApiKey(body));
    if (result.ok) {
      setCreated({ name: result.data.apiKey.name, secret: result.data.secret });
      formEl.reset();
      setScopes([]);
      setOwnerId('');
    }
  }

  return (
    <>
      {created ? <NewSecret name={created.name} secret={created.secret} onDone={() => setCreated(null)} /> : null}
      <form className="form-grid" onSubmit={onSubmit}>
        <div className="field">
          <label htmlFor="key-name">Name</label>
          <input id="key-name" name="name" type="text" required maxLength={64} autoComplete="off" />
        </div>
        {serviceAccounts ? (
          <div className="field">
            <label htmlFor="key-owner">Owner</label>
            <select id="key-owner" name="owner" value={ownerId} onChange={(e) => setOwnerId(e.target.value)}>
              <option value="">Me</option>
              {serviceAccounts.map((s) => (
                <option key={s.id} value={s.id}>{s.name} (service account, {s.role})</option>
              ))}
            </select>
          </div>
        ) : null}
        <div className="field">
          <label htmlFor="key-expires">Expires on (UTC, optional)</label>
          <input id="key-expires" name="expiresOn" type="date" />
        </div>
        <div className="field">
          <label htmlFor="key-models">Model allow-list (optional)</label>
          <input id="key-models" name="models" type="text" placeholder="model-a, model-b" autoComplete="off" />
        </div>
        <fieldset className="field field-full scope-picker">
          <legend>Scopes</legend>
          {allowed.map((scope) => (
            <label key={scope} className="checkbox">
              <input
                type="checkbox"
                name="scopes"
                value={scope}
                checked={chosen.includes(scope)}
                onChange={(e) => toggle(scope, e.target.checked)}
              />
              <span className="mono">{scope}</span>
            </label>
          ))}
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={pending}>Create API key</button>
        </div>
        <ErrorAlert message={error} />
      </form>
    </>
  );
}

function NewSecret({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }) {
  return (
    <OneTimeSecret secret={secret} secretLabel="New API key secret" onDone={onDone}>
      <strong>API key &ldquo;{name}&rdquo; created.</strong> Copy the secret now. This key will not be shown again.
    </OneTimeSecret>
  );
}
