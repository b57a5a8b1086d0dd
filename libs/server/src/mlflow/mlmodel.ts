/**
 * Which file of an MLflow model folder is the ONNX model: the `data` of the `onnx` flavor in its `MLmodel`
 * (YAML written by mlflow.onnx.save_model: `flavors:` / `  onnx:` / `    data: model.onnx`). Only that one key
 * is read, by indentation, so a hostile MLmodel (anchors, tags, deep nesting) cannot cost more than one pass
 * over at most MAX_MLMODEL_BYTES. Null when there is no onnx flavor.
 */
export const MAX_MLMODEL_BYTES = 256 * 1024;

const indentOf = (line: string) => line.length - line.trimStart().length;
const unquote = (s: string) => s.replace(/^(['"])(.*)\1$/, '$2');

export function onnxDataFile(mlmodel: string): { file: string | null; flavors: string[] } {
  const lines = mlmodel.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  const flavors: string[] = [];
  const at = lines.findIndex((l) => /^flavors:\s*$/.test(l));
  if (at < 0) return { file: null, flavors };
  let flavorIndent = -1;
  let inOnnx = false;
  let file: string | null = null;
  for (const line of lines.slice(at + 1)) {
    const indent = indentOf(line);
    if (indent === 0) break;
    if (flavorIndent < 0) flavorIndent = indent;
    if (indent === flavorIndent) {
      const name = /^\s*([\w.-]+):/.exec(line)?.[1];
      if (name) flavors.push(name);
      inOnnx = name === 'onnx';
    } else if (inOnnx && indent > flavorIndent) {
      const m = /^\s*data:\s*(.+?)\s*$/.exec(line);
      if (m && file === null) file = unquote(m[1]!);
    }
  }
  return { file, flavors };
}
