'use client';
import { useState } from 'react';
import { SCOPES_BY_ROLE, type Role, type Scope, type TCreateApiKeyRequest } from '@modelyard/contracts';
import { ApiField, ApiForm } from '@/components/api-form';
import { text } from '@/components/form';
import { OneTimeSecret } from '@/components/one-time-secret';

export interface OwnerOption {
  id: string;
  name: string;
  role: Role;
}

export function CreateApiKeyForm({ myRole, serviceAccounts }: { myRole: Role; serviceAccounts: OwnerOption[] | null }) {
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

  function body(form: FormData): TCreateApiKeyRequest {
    const expires = text(form, 'expiresOn');
    return {
      name: text(form, 'name'),
      scopes: chosen,
      modelAllowList: text(form, 'models')
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
      // A date picker gives a day; the key stops working when that day starts in UTC.
      expiresAt: expires ? new Date(`${expires}T00:00:00Z`).toISOString() : undefined,
      serviceAccountId: ownerId || undefined,
    };
  }

  return (
    <>
      {created ? <NewSecret name={created.name} secret={created.secret} onDone={() => setCreated(null)} /> : null}
      <ApiForm
        label="Create API key"
        submitLabel="Create API key"
        validate={() => (chosen.length === 0 ? 'Choose at least one scope.' : null)}
        submit={(form, api) => {
          setCreated(null);
          return api.createApiKey(body(form));
        }}
        onSuccess={(result) => {
          setCreated({ name: result.apiKey.name, secret: result.secret });
          setScopes([]);
          setOwnerId('');
        }}
      >
        <ApiField id="key-name" label="Name">
          <input name="name" type="text" required maxLength={64} autoComplete="off" />
        </ApiField>
        {serviceAccounts ? (
          <ApiField id="key-owner" label="Owner">
            <select name="owner" value={ownerId} onChange={(e) => setOwnerId(e.target.value)}>
              <option value="">Me</option>
              {serviceAccounts.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name} (service account, {s.role})
                </option>
              ))}
            </select>
          </ApiField>
        ) : null}
        <ApiField id="key-expires" label="Expires on (UTC, optional)">
          <input name="expiresOn" type="date" />
        </ApiField>
        <ApiField id="key-models" label="Model allow-list (optional)">
          <input name="models" type="text" placeholder="model-a, model-b" autoComplete="off" />
        </ApiField>
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
      </ApiForm>
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
