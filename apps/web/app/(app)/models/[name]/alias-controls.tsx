'use client';
import { useState } from 'react';
import { ZAliasName } from '@modelyard/contracts';
import { ApiField, ApiForm } from '@/components/api-form';
import { text } from '@/components/form';

/**
 * Set a new alias or move an existing one to another version, with a comment for the history. The sentence
 * under the form says which version the alias leaves, because clients that call the alias switch with it.
 */
export function SetAliasForm({
  model,
  aliases,
  versions,
}: {
  model: string;
  aliases: Record<string, number>;
  versions: number[];
}) {
  const [alias, setAlias] = useState('');
  const [version, setVersion] = useState(versions[0] ? String(versions[0]) : '');
  const name = alias.trim();
  const current = aliases[name];
  // After a refresh the list may no longer hold the chosen version; fall back to the newest.
  const chosen = versions.includes(Number(version)) ? Number(version) : (versions[0] ?? 0);

  if (versions.length === 0) {
    return <p className="muted small">Aliases can point at a version once one is registered and not failed.</p>;
  }
  return (
    <ApiForm
      submitLabel={current !== undefined && current !== chosen ? 'Move alias' : 'Set alias'}
      submitDisabled={current === chosen}
      validate={() => {
        const parsed = ZAliasName.safeParse(name);
        return parsed.success ? null : `Alias: ${parsed.error.issues[0]?.message ?? 'invalid'}.`;
      }}
      submit={(form, api) => api.setAlias(model, name, { version: chosen, comment: text(form, 'comment') })}
      onSuccess={() => setAlias('')}
    >
      <ApiField id="alias-name" label="Alias">
        <input
          name="alias"
          type="text"
          list="alias-names"
          required
          maxLength={64}
          autoComplete="off"
          placeholder="champion"
          value={alias}
          onChange={(e) => setAlias(e.target.value)}
        />
      </ApiField>
      <datalist id="alias-names">
        {Object.keys(aliases).map((a) => (
          <option key={a} value={a} />
        ))}
      </datalist>
      <ApiField id="alias-version" label="Version">
        <select name="version" value={String(chosen)} onChange={(e) => setVersion(e.target.value)}>
          {versions.map((v) => (
            <option key={v} value={v}>
              Version {v}
            </option>
          ))}
        </select>
      </ApiField>
      <ApiField id="alias-comment" label="Alias comment" size="wide">
        <input
          name="comment"
          type="text"
          maxLength={2000}
          autoComplete="off"
          placeholder="Why? It is kept in the model's history."
        />
      </ApiField>
      {name ? (
        <p className="consequence field-full">
          {current === undefined
            ? `@${name} will point to version ${chosen}.`
            : current === chosen
              ? `@${name} already points to version ${chosen}; nothing changes.`
              : `@${name} moves from version ${current} to version ${chosen}: clients using @${name} get version ${chosen}.`}
        </p>
      ) : null}
    </ApiForm>
  );
}

/** Removing an alias breaks whoever calls it, so it takes a comment and a second click. */
export function RemoveAliasButton({ model, alias, version }: { model: string; alias: string; version: number }) {
  const [confirming, setConfirming] = useState(false);

  if (!confirming) {
    return (
      <button
        type="button"
        className="btn btn-secondary btn-small"
        aria-label={`Remove alias ${alias}`}
        onClick={() => setConfirming(true)}
      >
        Remove
      </button>
    );
  }
  return (
    <ApiForm
      layout="inline"
      className="inline-form-tight"
      reset={false}
      submitLabel="Confirm remove"
      submitVariant="danger"
      submitSmall
      submit={(form, api) => api.deleteAlias(model, alias, text(form, 'comment'))}
      onSuccess={() => setConfirming(false)}
      actions={
        <button type="button" className="btn btn-secondary btn-small" onClick={() => setConfirming(false)}>
          Cancel
        </button>
      }
    >
      <span className="small">
        Clients using @{alias} stop reaching version {version}.
      </span>
      <ApiField id={`alias-remove-${alias}`} label={`Comment for removing @${alias}`} hiddenLabel size="inline">
        <input name="comment" type="text" maxLength={2000} placeholder="Comment" autoFocus autoComplete="off" />
      </ApiField>
    </ApiForm>
  );
}
