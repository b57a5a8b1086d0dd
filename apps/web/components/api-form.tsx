'use client';
import {
  createContext,
  useContext,
  useEffect,
  useRef,
  useState,
  type ComponentProps,
  type FormEvent,
  type KeyboardEvent,
  type ReactNode,
} from 'react';
import type { ModelyardClient } from '@modelyard/contracts';
import { useApiAction, type FieldErrors } from '@/lib/use-api-action';
import { ErrorAlert } from './alert';
import { Field, SubmitButton } from './form';

/** The field errors of the ApiForm around a control, by the path the API names (`name`, `rules.1.above`). */
const FieldErrorsContext = createContext<FieldErrors>({});

/** The message for one field of the enclosing ApiForm (from its last failed submit), if any. */
export function useFieldError(path: string): string | undefined {
  return useContext(FieldErrorsContext)[path];
}

/**
 * A `Field` inside an `ApiForm`: shows the error the API (or the form's `validate`) gave for its path, which is the
 * control's `name` unless `path` says otherwise, tied to the control with aria-describedby and aria-invalid.
 */
export function ApiField(props: ComponentProps<typeof Field> & { path?: string }) {
  const { path: given, ...field } = props;
  const path = given ?? (props.children.props as { name?: unknown }).name;
  const fromForm = useFieldError(typeof path === 'string' ? path : '');
  return <Field {...field} error={props.error ?? fromForm} />;
}

/** What `validate` may answer: nothing (valid), a message, or a message and the fields it is about. */
export type Invalid = string | { message: string; fields?: FieldErrors } | null;

/**
 * The dashboard's one form pattern: a grid of fields, a submit button with its pending state, and the API's error
 * shown the same way on every page (an alert under the form, and under each field the API named: ApiField).
 * `submit` gets the form's data and the API client; on success the server components re-render (so lists show the
 * change) and the form resets unless told not to.
 */
/** One of several submit buttons of an ApiForm (see `choices`). */
export interface SubmitChoice {
  value: string;
  label: ReactNode;
  pendingLabel?: ReactNode;
  variant?: 'primary' | 'secondary' | 'danger';
  disabled?: boolean;
  /** Id of a hint that says why the button is disabled. */
  describedBy?: string;
}

export function ApiForm<T>(props: {
  submit: (data: FormData, api: ModelyardClient) => Promise<T>;
  /** The one submit button's label; not used with `choices`. */
  submitLabel?: ReactNode;
  /**
   * Several submit buttons instead of one (e.g. Approve / Reject): the pressed one's value is in the form data
   * under `name`, and only that one says it is pending; all are disabled while the request runs.
   */
  choices?: { name: string; options: SubmitChoice[] };
  submitVariant?: 'primary' | 'secondary' | 'danger';
  submitSmall?: boolean;
  /** Keeps the submit button disabled (e.g. nothing would change). */
  submitDisabled?: boolean;
  pendingLabel?: ReactNode;
  onSuccess?: (result: T, form: HTMLFormElement) => void;
  /** Checks the data before calling the API (it may read files); what it returns is shown like an API error. */
  validate?: (data: FormData) => Invalid | Promise<Invalid>;
  reset?: boolean;
  /** An outcome to show under the form (e.g. "Schedule created."), in the same place on every form. */
  notice?: ReactNode;
  /** E.g. Escape closes an inline confirmation. */
  onKeyDown?: (event: KeyboardEvent<HTMLFormElement>) => void;
  /** Extra buttons beside the submit button (e.g. Cancel). */
  actions?: ReactNode;
  /** 'before': the extra buttons come first (a dialog's Cancel, left of its confirm button). */
  actionsPosition?: 'before' | 'after';
  actionsClassName?: string;
  label?: string;
  /** Id of the heading that names the form, instead of `label`. */
  labelledBy?: string;
  /** Id of an element that says more about the form (e.g. its upload progress). */
  describedBy?: string;
  layout?: 'grid' | 'inline' | 'stack';
  className?: string;
  children: ReactNode;
}) {
  const { run, pending, error, setError, fieldErrors, setFieldErrors } = useApiAction();
  const formRef = useRef<HTMLFormElement>(null);
  const [pressed, setPressed] = useState<string | null>(null);

  // After a failed submit that names fields, the first of them gets the focus, so keyboard and screen reader
  // users land where the problem is (the alert still says it in words).
  useEffect(() => {
    if (Object.keys(fieldErrors).length === 0) return;
    formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [fieldErrors]);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    // With the submitter, the pressed button's name=value is in the data (see `choices`).
    const submitter = (event.nativeEvent as SubmitEvent).submitter;
    const data = new FormData(formEl, submitter);
    setPressed(submitter instanceof HTMLButtonElement ? submitter.value : null);
    const invalid = (await props.validate?.(data)) ?? null;
    if (invalid) {
      setError(typeof invalid === 'string' ? invalid : invalid.message);
      setFieldErrors(typeof invalid === 'string' ? {} : (invalid.fields ?? {}));
      return;
    }
    const result = await run((api) => props.submit(data, api));
    if (!result.ok) return;
    if (props.reset !== false) formEl.reset();
    props.onSuccess?.(result.data, formEl);
  }

  const layout = { grid: 'form-grid', inline: 'inline-form', stack: 'stack' }[props.layout ?? 'grid'];
  const className = [layout, props.className ?? ''].filter(Boolean).join(' ');
  const before = props.actionsPosition === 'before';
  return (
    <form
      ref={formRef}
      className={className}
      onSubmit={onSubmit}
      onKeyDown={props.onKeyDown}
      aria-label={props.label}
      aria-labelledby={props.labelledBy}
      aria-describedby={props.describedBy}
    >
      <FieldErrorsContext.Provider value={fieldErrors}>{props.children}</FieldErrorsContext.Provider>
      <div className={['form-actions', props.actionsClassName ?? ''].filter(Boolean).join(' ')}>
        {before ? props.actions : null}
        {props.choices ? (
          props.choices.options.map((c) => (
            <SubmitButton
              key={c.value}
              name={props.choices?.name}
              value={c.value}
              pending={pending}
              pendingText={pressed === c.value ? c.pendingLabel : undefined}
              variant={c.variant}
              small={props.submitSmall}
              disabled={props.submitDisabled || c.disabled}
              describedBy={c.describedBy}
            >
              {c.label}
            </SubmitButton>
          ))
        ) : (
          <SubmitButton
            pending={pending}
            pendingText={props.pendingLabel}
            variant={props.submitVariant}
            small={props.submitSmall}
            disabled={props.submitDisabled}
          >
            {props.submitLabel}
          </SubmitButton>
        )}
        {before ? null : props.actions}
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
