#!/usr/bin/python3
"""What a data scientist would run instead of a batch job: read the CSV with pandas, score it with the pickled
scikit-learn pipeline, write input columns + prediction + probabilities back with to_csv.

    /usr/bin/python3 bench/batch_pandas.py <pipeline.pkl> <input.csv> <output.csv>

Prints the seconds it took (read, score, write) as one JSON line.
"""
import json
import pickle
import sys
import time

import pandas as pd

pkl, src, dst = sys.argv[1:4]
with open(pkl, 'rb') as fh:
    bundle = pickle.load(fh)
model = bundle['pipeline']
features = list(bundle['feature_names'])
classes = list(bundle['classes'])

t0 = time.perf_counter()
df = pd.read_csv(src)
t1 = time.perf_counter()
X = df[features].to_numpy(dtype='float64')
probs = model.predict_proba(X)
df['prediction'] = model.classes_[probs.argmax(axis=1)]
for i, c in enumerate(classes):
    df[f'probability_{c}'] = probs[:, i]
t2 = time.perf_counter()
df.to_csv(dst, index=False)
t3 = time.perf_counter()
print(json.dumps({'rows': len(df), 'read': t1 - t0, 'score': t2 - t1, 'write': t3 - t2, 'total': t3 - t0}))
