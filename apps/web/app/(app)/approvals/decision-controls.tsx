'use client';
import { useState, type FormEvent } from 'react';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';
import { Field } from '@/components/form';

/**
 * Not an ApiForm: two submit buttons, and the one pressed is the decision. Same Field, same error display.
 * Approve or reject one request, with a comment kept in the model's history. `ownRequest`: the API lets
 * nobody accept their own request, so Approve is disabled with the reason (Reject still withdraws it).
 */
export function DecisionControls({ id, label, ownRequest }: { id: string; label: string; ownRequest: boolean }) {
  const { run, pending, error } = useApiAction();
  const [decision, setDecision] = useState<'approve' | 'reject' | null>(null);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    // The button that submitted the form says which decision it is.
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    const choice = submitter?.value === 'reject' ? 'reject' : 'approve';
    const comment = String(new FormData(event.currentTarget).get('comment') ?? '').trim();
    setDecision(choice);
    await run((api) => (choice === 'approve' ? api.approve(id, comment) : api.reject(id, comment)));
  }

  const commentId = `decision-comment-${id}`;
  return (
    <form className="decision" onSubmit={onSubmit} aria-label={`Decide on ${label}`}>
      <Field id={commentId} label={`Comment on ${label}`} hiddenLabel>
        <input name="comment" type="text" maxLength={2000} placeholder="Comment" autoComplete="off" />
      </Field>
      <div className="decision-buttons">
        <button
          type="submit"
          name="decision"
          value="approve"
          className="btn btn-primary btn-small"
          disabled={pending || ownRequest}
          aria-describedby={ownRequest ? `own-${id}` : undefined}
        >
          {pending && decision === 'approve' ? 'Approving…' : 'Approve'}
        </button>
        <button type="submit" name="decision" value="reject" className="btn btn-secondary btn-small" disabled={pending}>
          {pending && decision === 'reject' ? 'Rejecting…' : 'Reject'}
        </button>
      </div>
      {ownRequest ? (
        <p id={`own-${id}`} className="hint">
          You requested this; a second approver must accept it.
        </p>
      ) : null}
      <ErrorAlert message={error} />
    </form>
  );
}
