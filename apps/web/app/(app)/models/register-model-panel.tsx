'use client';
import { useState } from 'react';
import { RegisterVersionForm } from './register-version-form';

/** The "Register a model" button and the upload form it discloses. */
export function RegisterModelPanel() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className="btn btn-primary"
        aria-expanded={open}
        aria-controls="register-model"
        onClick={() => setOpen((o) => !o)}
      >
        {open ? 'Close' : 'Register a model'}
      </button>
      <section id="register-model" className="card card-full" hidden={!open} aria-labelledby="register-model-title">
        <h2 id="register-model-title">Register a model</h2>
        <p className="muted small">
          Upload an ONNX file. The signature (inputs, feature names, classes) is read from the file and checked in
          onnxruntime before the version becomes ready.
        </p>
        <RegisterVersionForm showModelLink />
      </section>
    </>
  );
}
