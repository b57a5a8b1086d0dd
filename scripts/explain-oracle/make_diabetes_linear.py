"""Writes test/fixtures/models/diabetes_linear: scikit-learn StandardScaler + LinearRegression on the diabetes data
(10 features) as ONNX ai.onnx.ml Scaler -> LinearRegressor, written here (skl2onnx is not in the package index).

The linear model the explanation oracle checks (closed form, a Scaler folded in) and the bench's linear model.
Run: python3 scripts/explain-oracle/make_diabetes_linear.py (numpy, scikit-learn, onnx, onnxruntime; README.md).
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import sklearn
from onnx import TensorProto, helper
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'models', 'diabetes_linear')


def main():
    data = load_diabetes()
    x = data.data.astype(np.float32)
    names = [str(n) for n in data.feature_names]
    pipe = make_pipeline(StandardScaler(), LinearRegression()).fit(x, data.target)
    scaler, lr = pipe[0], pipe[1]
    nodes = [
        helper.make_node('Scaler', ['input'], ['scaled'], domain='ai.onnx.ml',
                         offset=[float(v) for v in scaler.mean_], scale=[float(1 / v) for v in scaler.scale_]),
        helper.make_node('LinearRegressor', ['scaled'], ['variable'], domain='ai.onnx.ml', targets=1,
                         coefficients=[float(v) for v in lr.coef_], intercepts=[float(lr.intercept_)]),
    ]
    graph = helper.make_graph(nodes, 'diabetes_linear',
                              [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', len(names)])],
                              [helper.make_tensor_value_info('variable', TensorProto.FLOAT, ['N', 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 15), helper.make_opsetid('ai.onnx.ml', 3)],
                              producer_name='modelyard-explain-oracle')
    model.ir_version = 8
    helper.set_model_props(model, {'feature_names': json.dumps(names)})
    onnx.checker.check_model(model)
    os.makedirs(OUT, exist_ok=True)
    onnx.save(model, os.path.join(OUT, 'model.onnx'))
    sess = ort.InferenceSession(os.path.join(OUT, 'model.onnx'), providers=['CPUExecutionProvider'])
    got = sess.run(None, {'input': x})[0][:, 0]
    err = float(np.max(np.abs(got - pipe.predict(x))))
    assert err < 1e-2, err
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(x))
    rows = [[float(v) for v in x[i]] for i in idx[:200]]
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump({'name': 'diabetes_linear',
                   'description': 'Random sample (seed 0) of 200 of the 442 diabetes rows, float32, in the model\'s '
                                  'feature order: the drift baseline and the explanation background.',
                   'feature_names': names, 'n': len(rows), 'rows': rows}, f)
    sample = [{n: float(v) for n, v in zip(names, x[i])} for i in idx[200:210]]
    with open(os.path.join(OUT, 'samples.json'), 'w') as f:
        json.dump({'name': 'diabetes_linear', 'generator': 'scripts/explain-oracle/make_diabetes_linear.py',
                   'versions': {'scikit-learn': sklearn.__version__, 'onnx': onnx.__version__,
                                'onnxruntime': ort.__version__, 'numpy': np.__version__},
                   'estimator': 'make_pipeline(StandardScaler(), LinearRegression())',
                   'feature_names': names, 'records': sample,
                   'expected': {'variable': [[float(v)] for v in sess.run(None, {'input': x[idx[200:210]]})[0][:, 0]]},
                   'max_abs_error_vs_sklearn': err}, f)
    print('wrote', OUT, 'max error vs sklearn', err)


if __name__ == '__main__':
    main()
