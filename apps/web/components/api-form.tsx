'use client';
import type { FormEvent, KeyboardEvent, ReactNode } from 'react';
import type { ModelyardClient } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from './alert';
import { SubmitButton } from './form';

/**
 * The dashboard's one form pattern: a grid of fields, a submit button with its pending state, and the API's error
 * shown the same way on every page (an alert under the form). `submit` gets the form's data and the API client;
 * on success the server components re-render (so lists show the change) and the form resets unless told not to.
 */
export function ApiForm<T>(props: {
  submit: (data: FormData, api: ModelyardClient) => Promise<T>;
  submitLabel: ReactNode;
  submitVariant?: 'primary' | 'secondary' | 'danger';
  submitSmall?: boolean;
  /** Keeps the submit button disabled (e.g. nothing would change). */
  submitDisabled?: boolean;
  pendingLabel?: ReactNode;
  onSuccess?: (result: T, form: HTMLFormElement) => void;
  /** Checks the data before calling the API; a returned message is shown like an API error. */
  validate?: (data: FormData) => string | null;
  reset?: boolean;
  /** An outcome to show under the form (e.g. "Schedule created."), in the same place on every form. */
  notice?: ReactNode;
  /** E.g. Escape closes an inline confirmation. */
  onKeyDown?: (event: KeyboardEvent<HTMLFormElement>) => void;
  /** Extra buttons beside the submit button (e.g. Cancel). */
  actions?: ReactNode;
  label?: string;
  /** Id of the heading that names the form, instead of `label`. */
  labelledBy?: string;
  layout?: 'grid' | 'inline' | 'stack';
  className?: string;
  children: ReactNode;
}) {
  const { run, pending, error, setError } = useApiAction();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const data = new FormData(formEl);
    const invalid = props.validate?.(data) ?? null;
    if (invalid) {
      setError(invalid);
      return;
    }
    const result = await run((api) => props.submit(data, api));
    if (!result.ok) return;
    if (props.reset !== false) formEl.reset();
    props.onSuccess?.(result.data, formEl);
  }

  const layout = { grid: 'form-grid', inline: 'inline-form', stack: 'stack' }[props.layout ?? 'grid'];
  const className = [layout, props.className ?? ''].filter(Boolean).join(' ');
  return (
    <form
      className={className}
      onSubmit={onSubmit}
      onKeyDown={props.onKeyDown}
      aria-label={props.label}
      aria-labelledby={props.labelledBy}
    >
      {props.children}
      <div className="form-actions">
        <SubmitButton
          pending={pending}
          pendingText={props.pendingLabel}
          variant={props.submitVariant}
          small={props.submitSmall}
          disabled={props.submitDisabled}
        >
          {props.submitLabel}
        </SubmitButton>
        {props.actions}
      </div>
      <ErrorAlert message={error} />
      {props.notice ? (
        <p className="notice notice-ok field-full" role="status">
          {props.notice}
        </p>
      ) : null}
    </form>
  );
}
