'use client';
import { useRef, useState, type ReactNode } from 'react';

/**
 * A secret the API returns once (API keys, webhook signing secrets): shown with a Copy button, never again.
 * `secretLabel` names it for screen readers and tests.
 */
export function OneTimeSecret(props: { children: ReactNode; secret: string; secretLabel: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const codeRef = useRef<HTMLElement>(null);

  async function copy() {
    try {
      await navigator.clipboard.writeText(props.secret);
      setCopied('yes');
    } catch {
      // No clipboard API outside secure contexts (plain http on a LAN address): select it for Ctrl+C.
      const range = document.createRange();
      if (codeRef.current) range.selectNodeContents(codeRef.current);
      window.getSelection()?.removeAllRanges();
      window.getSelection()?.addRange(range);
      setCopied('failed');
    }
  }

  return (
    <div className="secret-box" role="status">
      <p>{props.children}</p>
      <div className="secret-row">
        <code ref={codeRef} aria-label={props.secretLabel}>
          {props.secret}
        </code>
        <button type="button" className="btn btn-secondary btn-small" onClick={copy}>
          Copy
        </button>
        <button type="button" className="btn btn-link btn-small" onClick={props.onDone}>
          Done
        </button>
      </div>
      {copied === 'yes' ? <p className="small">Copied to the clipboard.</p> : null}
      {copied === 'failed' ? (
        <p className="small">Copying is blocked here; the secret is selected, press Ctrl+C.</p>
      ) : null}
    </div>
  );
}
