import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CsvRecordReader, csvField } from './csv-stream.js';

/** Feeds `text` in pieces of `size` characters, as a stream from storage would. */
function readAll(text: string, size: number) {
  const r = new CsvRecordReader();
  const out = [];
  for (let i = 0; i < text.length; i += size) out.push(...r.push(text.slice(i, i + size)));
  out.push(...r.end());
  return out;
}

describe('CsvRecordReader', () => {
  const text = '\ufeffid,name,x\r\n1,plain,1.5\n2,"with, comma",2\n\n3,"say ""hi""",3\n4,"two\nlines",4\n5,last,5';
  for (const size of [1, 2, 3, 7, 1000]) {
    it(`reads the same records whatever the piece size (${size})`, () => {
      const recs = readAll(text, size);
      assert.deepEqual(
        recs.map((r) => r.fields),
        [
          ['id', 'name', 'x'],
          ['1', 'plain', '1.5'],
          ['2', 'with, comma', '2'],
          ['3', 'say "hi"', '3'],
          ['4', 'two\nlines', '4'],
          ['5', 'last', '5'],
        ],
      );
      assert.equal(recs[2]!.raw, '2,"with, comma",2');
      assert.equal(recs[4]!.raw, '4,"two\nlines",4');
      assert.ok(recs.every((r) => !('error' in r)));
    });
  }

  it('marks a malformed record and goes on with the next', () => {
    const recs = readAll('a,b\n1,x"y\n2,"ok"z\n3,fine\n', 4);
    assert.deepEqual(
      recs.map((r) => r.error ?? null),
      [null, 'a quote inside an unquoted field (quote the whole field)', 'text after a closing quote', null],
    );
    assert.deepEqual(recs[3]!.fields, ['3', 'fine']);
  });

  it('flags a quoted field left open at the end of the file', () => {
    const recs = readAll('a\n"never closed\n', 5);
    assert.equal(recs[1]!.error, 'a quoted field is not closed');
  });

  it('finds only the boundaries after the header when asked (fields: false)', () => {
    const r = new CsvRecordReader({ fields: false });
    const recs = [...r.push('a,b\n1,2\n"x\ny",3\n'), ...r.end()];
    assert.deepEqual(
      recs.map((x) => x.raw),
      ['a,b', '1,2', '"x\ny",3'],
    );
    assert.deepEqual(recs[0]!.fields, ['a', 'b']);
    assert.deepEqual(recs[1]!.fields, []);
  });

  it('quotes output fields only when they need it', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField(null), '');
    assert.equal(csvField(['x', 1]), '"[""x"",1]"');
  });
});
