import { cloneElement, type ReactElement, type ReactNode } from 'react';

type ControlProps = { id?: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean };

/**
 * One labelled field: the label names the control (htmlFor = id, given to the control here), and a hint and an
 * error below it are tied to the control with aria-describedby. Works in server and client components alike.
 */
export function Field(props: {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string | null;
  /** Spans two grid columns or the whole row of a form grid; 'inline' puts the label beside the control. */
  size?: 'wide' | 'full' | 'inline';
  /** The label is read by screen readers but not shown (the row or heading around says it). */
  hiddenLabel?: boolean;
  className?: string;
  children: ReactElement<ControlProps>;
}) {
  const { id } = props;
  const hintId = props.hint ? `${id}-hint` : undefined;
  const errorId = props.error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  const classes = ['field', props.size ? `field-${props.size}` : '', props.className ?? ''].filter(Boolean).join(' ');
  const control = cloneElement(props.children, {
    id,
    'aria-describedby': describedBy,
    ...(props.error ? { 'aria-invalid': true } : {}),
  });
  return (
    <div className={classes}>
      <label htmlFor={id} className={props.hiddenLabel ? 'visually-hidden' : undefined}>
        {props.label}
      </label>
      {control}
      {props.hint ? (
        <p className="hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p className="error-inline" id={errorId}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

/** The form's submit button: disabled, and saying so, while the request runs. */
export function SubmitButton({
  pending,
  children,
  pendingText,
  variant = 'primary',
  small = false,
  disabled,
  name,
  value,
  describedBy,
}: {
  pending: boolean;
  /** With `value`: one of several submit buttons, the pressed one's value sent under `name`. */
  name?: string;
  value?: string;
  describedBy?: string;
  /** Disabled for another reason than a running request. */
  disabled?: boolean;
  children: ReactNode;
  /** What the button says while the request runs; the label stays when unset, so tests and users find it. */
  pendingText?: ReactNode;
  variant?: 'primary' | 'secondary' | 'danger';
  small?: boolean;
}) {
  return (
    <button
      type="submit"
      name={name}
      value={value}
      aria-describedby={describedBy}
      className={`btn btn-${variant}${small ? ' btn-small' : ''}`}
      disabled={pending || disabled}
      aria-busy={pending}
    >
      {pending && pendingText ? pendingText : children}
    </button>
  );
}

/** A trimmed text value from form data ('' when absent). */
export const text = (data: FormData, name: string): string => String(data.get(name) ?? '').trim();
/** A trimmed text value, or undefined when left empty (for optional API fields). */
export const optional = (data: FormData, name: string): string | undefined => text(data, name) || undefined;
