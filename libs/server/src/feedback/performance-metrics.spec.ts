import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  binaryAuc,
  calibration,
  classifierMetrics,
  confusionMatrix,
  regressorMetrics,
  type ClassifiedRow,
} from './performance-metrics.js';

const close = (a: number | null, b: number, tol = 1e-12) =>
  assert.ok(a !== null && Math.abs(a - b) <= tol, `${a} is not ${b} (within ${tol})`);

// Eight labelled rows of a three-class model. Expected values were worked out by hand (shown) and agree with
// scikit-learn 1.2 (accuracy_score, precision/recall/f1_score(average='macro'), roc_auc_score(multi_class='ovr'),
// log_loss).
const truth = ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'a'];
const predicted = ['a', 'b', 'b', 'a', 'c', 'c', 'b', 'a'];
const proba = [
  [0.7, 0.2, 0.1],
  [0.1, 0.6, 0.3],
  [0.2, 0.5, 0.3],
  [0.8, 0.1, 0.1],
  [0.1, 0.3, 0.6],
  [0.2, 0.2, 0.6],
  [0.3, 0.4, 0.3],
  [0.6, 0.3, 0.1],
];
const rows: ClassifiedRow[] = truth.map((actual, i) => ({ actual, predicted: predicted[i]!, proba: proba[i] }));

describe('classifier metrics', () => {
  it('accuracy is the share of rows predicted right: 5 of 8', () => {
    assert.equal(classifierMetrics(rows, ['a', 'b', 'c']).accuracy, 0.625);
  });

  it('precision, recall and F1 are macro averages over the classes', () => {
    const m = classifierMetrics(rows, ['a', 'b', 'c']);
    // precision a 3/3, b 1/3, c 1/2; recall a 3/4, b 1/2, c 1/2; F1 a 6/7, b 2/5, c 1/2
    close(m.precision, (1 + 1 / 3 + 1 / 2) / 3);
    close(m.recall, (3 / 4 + 1 / 2 + 1 / 2) / 3);
    close(m.f1, (6 / 7 + 2 / 5 + 1 / 2) / 3);
  });

  it('AUC is one-vs-rest, averaged over the classes, and log loss the mean -ln p(true class)', () => {
    const m = classifierMetrics(rows, ['a', 'b', 'c']);
    // a: positives .7 .8 .3 .6 beat negatives .1 .2 .1 .2 in all 16 pairs; b: positives .6 .3 against negatives
    // .2 .5 .1 .2 .4 .3 win 6 + 3.5 (a tie is half) of 12; c: positives .3 .6 against .1 .3 .1 .6 .3 .1 win 4 + 5.5
    close(m.auc, (1 + 9.5 / 12 + 9.5 / 12) / 3);
    close(m.auc, 0.861111111111111, 1e-12);
    const ll =
      -(
        Math.log(0.7) +
        Math.log(0.6) +
        Math.log(0.3) +
        Math.log(0.8) +
        Math.log(0.3) +
        Math.log(0.6) +
        Math.log(0.3) +
        Math.log(0.6)
      ) / 8;
    close(m.logLoss, ll);
    close(m.logLoss, 0.7155267224410903, 1e-12);
  });

  it('binary AUC counts ties as half a win', () => {
    // positives .8 .4 .9, negatives .1 .4 .2: 8 wins and one tie of 9 pairs
    close(binaryAuc([0.1, 0.8, 0.4, 0.4, 0.9, 0.2], [false, true, true, false, true, false]), 8.5 / 9);
  });

  it('gives no probability metrics without probabilities, and nothing at all without rows', () => {
    const m = classifierMetrics(
      rows.map(({ actual, predicted: p }) => ({ actual, predicted: p })),
      ['a', 'b', 'c'],
    );
    assert.equal(m.auc, null);
    assert.equal(m.logLoss, null);
    assert.equal(m.accuracy, 0.625);
    assert.deepEqual(classifierMetrics([], ['a']), {
      accuracy: null,
      precision: null,
      recall: null,
      f1: null,
      auc: null,
      logLoss: null,
    });
  });
});

describe('regressor metrics', () => {
  it('MAE, RMSE and R^2 of four rows', () => {
    const m = regressorMetrics([3, -0.5, 2, 7].map((actual, i) => ({ actual, predicted: [2.5, 0, 2, 8][i]! })));
    // errors .5 .5 0 1: MAE 2/4, MSE 1.5/4; mean 2.875, total sum of squares 29.1875
    close(m.mae, 0.5);
    close(m.rmse, Math.sqrt(1.5 / 4));
    close(m.r2, 1 - 1.5 / 29.1875);
  });
});

describe('confusion matrix and calibration', () => {
  it('counts rows by (truth, prediction) in class order: a→a 3, a→b 1, b→b 1, b→c 1, c→b 1, c→c 1', () => {
    assert.deepEqual(confusionMatrix(rows, ['a', 'b', 'c']), {
      labels: ['a', 'b', 'c'],
      counts: [
        [3, 1, 0],
        [0, 1, 1],
        [0, 1, 1],
      ],
    });
  });

  it('a label outside the classes gets its own row and column after them; no rows, no matrix', () => {
    const m = confusionMatrix([...rows, { actual: 'd', predicted: 'a' }], ['a', 'b', 'c'])!;
    assert.deepEqual(m.labels, ['a', 'b', 'c', 'd']);
    assert.deepEqual(m.counts[3], [1, 0, 0, 0]);
    assert.equal(confusionMatrix([], ['a']), null);
  });

  it('bins rows by the predicted class probability: accuracy and confidence per bin, ECE 0.25 by hand', () => {
    // Top probabilities 0.7 0.6 0.5 0.8 0.6 0.6 0.4 0.6; right: yes yes no yes no yes no yes.
    const c = calibration(rows)!;
    assert.equal(c.rows, 8);
    const used = c.bins.filter((b) => b.count > 0).map((b) => [b.from, b.count, b.confidence, b.accuracy]);
    assert.equal(used.length, 5);
    const expected = [
      [0.4, 1, 0.4, 0],
      [0.5, 1, 0.5, 0],
      [0.6, 4, 0.6, 0.75],
      [0.7, 1, 0.7, 1],
      [0.8, 1, 0.8, 1],
    ];
    used.forEach((u, i) => expected[i]!.forEach((v, j) => close(u[j] as number, v)));
    // 1/8 x 0.4 + 1/8 x 0.5 + 4/8 x 0.15 + 1/8 x 0.3 + 1/8 x 0.2
    close(c.ece, 0.25);
    assert.equal(calibration([{ actual: 'a', predicted: 'a' }]), null);
  });
});
