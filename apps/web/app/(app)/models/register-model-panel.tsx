'use client';
import { useState } from 'react';
import dynamic from 'next/dynamic';

// The form (and the schemas it checks its fields with, zod among them) loads when the panel first opens: the
// models list is shown far more often than a model is registered.
const RegisterVersionForm = dynamic(() => import('./register-version-form').then((m) => m.RegisterVersionForm), {
  ssr: false,
  loading: () => <p className="muted small">Loading the form…</p>,
});

/** The "Register a model" button and the upload form it discloses. */
export function RegisterModelPanel() {
  const [open, setOpen] = useState(false);
  // Kept once opened, so closing and reopening the panel keeps what was typed.
  const [opened, setOpened] = useState(false);
  return (
    <>
      <button
        type="button"
        className="btn btn-primary"
        aria-expanded={open}
        aria-controls="register-model"
        onClick={() => {
          setOpen((o) => !o);
          setOpened(true);
        }}
      >
        {open ? 'Close' : 'Register a model'}
      </button>
      <section id="register-model" className="card card-full" hidden={!open} aria-labelledby="register-model-title">
        <h2 id="register-model-title">Register a model</h2>
        <p className="muted small">
          Upload an ONNX file. The signature (inputs, feature names, classes) is read from the file and checked in
          onnxruntime before the version becomes ready.
        </p>
        {opened ? <RegisterVersionForm showModelLink /> : null}
      </section>
    </>
  );
}
