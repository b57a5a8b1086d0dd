'use client';
import { useState, type FormEvent } from 'react';
import { useRouter } from 'next/navigation';
import { browserApi, errorMessage } from '@/lib/api.browser';
import { ErrorAlert } from '@/components/alert';
import { Field, SubmitButton } from '@/components/form';

/**
 * Not an ApiForm: a wrong password is a 401, which ApiForm answers by sending the user to this very page.
 * It uses the same fields and submit button, and shows the API's error the same way.
 */
export function LoginForm({ next }: { next: string }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    try {
      // The API answers with Set-Cookie; through the /api rewrite it lands on this origin.
      await browserApi().login({ email: String(form.get('email')), password: String(form.get('password')) });
      router.replace(next);
      router.refresh();
    } catch (e) {
      setError(errorMessage(e));
      setPending(false);
    }
  }

  return (
    <form className="stack" onSubmit={onSubmit}>
      <ErrorAlert message={error} />
      <Field id="login-email" label="Email">
        <input name="email" type="email" autoComplete="username" required autoFocus />
      </Field>
      <Field id="login-password" label="Password">
        <input name="password" type="password" autoComplete="current-password" required />
      </Field>
      <SubmitButton pending={pending} pendingText="Signing in…">
        Sign in
      </SubmitButton>
    </form>
  );
}
