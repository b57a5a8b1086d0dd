"""Writes test/fixtures/models/diabetes_rf: a 100-tree random forest regressor with 10 features, as an ONNX
ai.onnx.ml TreeEnsembleRegressor written here node by node (skl2onnx is not in the package index).

The tree model the explanation oracle checks with 8+ features, and the bench's 100-tree ensemble.
Run: python3 scripts/explain-oracle/make_diabetes_rf.py (numpy, scikit-learn, onnx, onnxruntime; see README.md).
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import sklearn
from onnx import TensorProto, helper
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'models', 'diabetes_rf')


def main():
    data = load_diabetes()
    x = data.data.astype(np.float32)
    y = data.target
    names = [str(n) for n in data.feature_names]
    rf = RandomForestRegressor(n_estimators=100, max_depth=6, min_samples_leaf=5, random_state=0)
    rf.fit(x, y)
    attrs = {k: [] for k in ['nodes_treeids', 'nodes_nodeids', 'nodes_featureids', 'nodes_values', 'nodes_modes',
                             'nodes_truenodeids', 'nodes_falsenodeids', 'target_treeids', 'target_nodeids',
                             'target_ids', 'target_weights']}
    for t, est in enumerate(rf.estimators_):
        tree = est.tree_
        for n in range(tree.node_count):
            leaf = tree.children_left[n] == -1
            attrs['nodes_treeids'].append(t)
            attrs['nodes_nodeids'].append(n)
            attrs['nodes_featureids'].append(0 if leaf else int(tree.feature[n]))
            # sklearn compares float32(x) <= threshold (a float64): the float32 at or below it decides the same.
            th = np.float32(tree.threshold[n])
            if not leaf and float(th) > tree.threshold[n]:
                th = np.nextafter(th, np.float32(-np.inf))
            attrs['nodes_values'].append(0.0 if leaf else float(th))
            attrs['nodes_modes'].append('LEAF' if leaf else 'BRANCH_LEQ')
            attrs['nodes_truenodeids'].append(0 if leaf else int(tree.children_left[n]))
            attrs['nodes_falsenodeids'].append(0 if leaf else int(tree.children_right[n]))
            if leaf:
                attrs['target_treeids'].append(t)
                attrs['target_nodeids'].append(n)
                attrs['target_ids'].append(0)
                attrs['target_weights'].append(float(tree.value[n][0][0]))
    node = helper.make_node('TreeEnsembleRegressor', ['input'], ['variable'], domain='ai.onnx.ml', n_targets=1,
                            aggregate_function='AVERAGE', post_transform='NONE', **attrs)
    graph = helper.make_graph([node], 'diabetes_rf',
                              [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', len(names)])],
                              [helper.make_tensor_value_info('variable', TensorProto.FLOAT, ['N', 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 15), helper.make_opsetid('ai.onnx.ml', 3)],
                              producer_name='modelyard-explain-oracle')
    model.ir_version = 8
    # Like the reference models: the feature names the platform reads into the signature's columns.
    helper.set_model_props(model, {'feature_names': json.dumps(names)})
    onnx.checker.check_model(model)
    os.makedirs(OUT, exist_ok=True)
    onnx.save(model, os.path.join(OUT, 'model.onnx'))
    sess = ort.InferenceSession(os.path.join(OUT, 'model.onnx'), providers=['CPUExecutionProvider'])
    got = sess.run(None, {'input': x})[0][:, 0]
    err = float(np.max(np.abs(got - rf.predict(x))))
    assert err < 1e-3, err
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(x))
    ref = idx[:200]
    rows = [[float(v) for v in x[i]] for i in ref]
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump({'name': 'diabetes_rf',
                   'description': 'Random sample (seed 0) of 200 of the 442 diabetes rows, float32, in the model\'s '
                                  'feature order: the drift baseline and the explanation background.',
                   'feature_names': names, 'n': len(rows), 'rows': rows}, f)
    sample = [{n: float(v) for n, v in zip(names, x[i])} for i in idx[200:210]]
    with open(os.path.join(OUT, 'samples.json'), 'w') as f:
        json.dump({'name': 'diabetes_rf', 'generator': 'scripts/explain-oracle/make_diabetes_rf.py',
                   'versions': {'scikit-learn': sklearn.__version__, 'onnx': onnx.__version__,
                                'onnxruntime': ort.__version__, 'numpy': np.__version__},
                   'estimator': 'RandomForestRegressor(n_estimators=100, max_depth=6, min_samples_leaf=5, '
                                'random_state=0)',
                   'feature_names': names, 'records': sample,
                   'expected': {'variable': [[float(v)] for v in sess.run(None, {'input': x[idx[200:210]]})[0][:, 0]]},
                   'max_abs_error_vs_sklearn': err}, f)
    print('wrote', OUT, 'nodes', len(attrs['nodes_nodeids']), 'max error vs sklearn', err)


if __name__ == '__main__':
    main()
