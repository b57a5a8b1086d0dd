"""Exact interventional Shapley values by enumerating every coalition, with numpy + onnxruntime: the independent
check of the TypeScript explainer (libs/server/src/explain). For each model, the background is the first
BACKGROUND rows of its reference.json and the explained rows are the first ROWS records of its samples.json, all
as float32 (what the model sees). For a coalition S and background row z the model runs on (x_S, z_rest); v(S)
is the mean over z; phi_j = sum over S without j of |S|! (m-|S|-1)! / m! * (v(S+j) - v(S)).

Models with more than MAX_EXACT features (digits_mlp: 64) get only their base value and outputs.
Writes test/fixtures/explain/oracle.json. Run: python3 scripts/explain-oracle/oracle.py (see README.md).
"""
import itertools
import json
import math
import os

import numpy as np
import onnxruntime as ort

ROOT = os.path.join(os.path.dirname(__file__), '..', '..')
MODELS = os.path.join(ROOT, 'test', 'fixtures', 'models')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'explain', 'oracle.json')
BACKGROUND = 20
ROWS = 3
MAX_EXACT = 12
# The output each model's explanation is of: class probabilities, or the regression value.
OUTPUT = {'iris_logreg': 'probabilities', 'iris_rf': 'probabilities', 'digits_mlp': 'probabilities',
          'diabetes_rf': 'variable', 'diabetes_linear': 'variable'}


def run(sess, name, output, rows):
    out = sess.run([output], {name: rows.astype(np.float32)})[0]
    return out.reshape(len(rows), -1).astype(np.float64)


def explain(sess, name, output, x, bg):
    m = x.shape[0]
    nb = len(bg)
    base = run(sess, name, output, bg).mean(axis=0)
    value = run(sess, name, output, x[None, :])[0]
    if m > MAX_EXACT:
        return {'base': base.tolist(), 'value': value.tolist()}
    masks = np.array(list(itertools.product([0, 1], repeat=m)), dtype=bool)[:, ::-1]  # bit j of s = feature j
    rows = np.where(masks[:, None, :], x[None, None, :], bg[None, :, :]).reshape(-1, m)
    v = run(sess, name, output, rows).reshape(len(masks), nb, -1).mean(axis=1)
    index = {tuple(mk): i for i, mk in enumerate(masks)}
    phi = np.zeros((m, v.shape[1]))
    for i, mk in enumerate(masks):
        s = int(mk.sum())
        w = math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) if s < m else 0
        for j in range(m):
            if mk[j]:
                continue
            with_j = mk.copy()
            with_j[j] = True
            phi[j] += w * (v[index[tuple(with_j)]] - v[i])
    assert np.allclose(v[0], base) and np.allclose(v[-1], value)
    return {'base': base.tolist(), 'value': value.tolist(), 'contributions': phi.tolist()}


def main():
    result = {'generator': 'scripts/explain-oracle/oracle.py', 'onnxruntime': ort.__version__,
              'numpy': np.__version__, 'background_rows': BACKGROUND, 'models': {}}
    for model, output in OUTPUT.items():
        folder = os.path.join(MODELS, model)
        ref = json.load(open(os.path.join(folder, 'reference.json')))
        samples = json.load(open(os.path.join(folder, 'samples.json')))
        names = ref['feature_names']
        bg = np.array(ref['rows'][:BACKGROUND], dtype=np.float32)
        if 'records' in samples:
            xs = np.array([[r[n] for n in names] for r in samples['records'][:ROWS]], dtype=np.float32)
        else:
            xs = np.array(next(iter(samples['input_data'].values()))[:ROWS], dtype=np.float32)
        sess = ort.InferenceSession(os.path.join(folder, 'model.onnx'), providers=['CPUExecutionProvider'])
        inp = sess.get_inputs()[0].name
        rows = [dict(x=[float(v) for v in x], **explain(sess, inp, output, x, bg)) for x in xs]
        result['models'][model] = {'output': output, 'features': names,
                                   'background': [[float(v) for v in r] for r in bg], 'rows': rows}
        print(model, 'rows', len(rows), 'exact' if 'contributions' in rows[0] else 'base/value only')
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
