'use client';
import { ApiField, ApiForm } from '@/components/api-form';

/**
 * Approve or reject one request, with a comment kept in the model's history: an ApiForm with two submit buttons
 * (`choices`), the pressed one is the decision. `ownRequest`: the API lets nobody accept their own request, so
 * Approve is disabled with the reason (Reject still withdraws it).
 */
export function DecisionControls({ id, label, ownRequest }: { id: string; label: string; ownRequest: boolean }) {
  return (
    <ApiForm
      layout="stack"
      className="decision"
      label={`Decide on ${label}`}
      submit={(data, api) => {
        const comment = String(data.get('comment') ?? '').trim();
        return data.get('decision') === 'reject' ? api.reject(id, comment) : api.approve(id, comment);
      }}
      submitSmall
      actionsClassName="decision-buttons"
      choices={{
        name: 'decision',
        options: [
          {
            value: 'approve',
            label: 'Approve',
            pendingLabel: 'Approving…',
            disabled: ownRequest,
            describedBy: ownRequest ? `own-${id}` : undefined,
          },
          { value: 'reject', label: 'Reject', pendingLabel: 'Rejecting…', variant: 'secondary' },
        ],
      }}
    >
      <ApiField id={`decision-comment-${id}`} label={`Comment on ${label}`} hiddenLabel>
        <input name="comment" type="text" maxLength={2000} placeholder="Comment" autoComplete="off" />
      </ApiField>
      {ownRequest ? (
        <p id={`own-${id}`} className="hint">
          You requested this; a second approver must accept it.
        </p>
      ) : null}
    </ApiForm>
  );
}
