import type { Feeds, Outputs, ServedVersion, ServingLimits } from '../../engine/index.js';
import type { TPredictFormat } from '@modelyard/contracts';
import { parseMlflow, renderMlflow } from './mlflow.format.js';
import { parseModelyard, renderModelyard } from './modelyard.format.js';
import { parseOip, renderOip } from './oip-v2.format.js';
import { parseRowFormat, renderRowFormat } from './row-format.format.js';

/** A request parsed by its format's adapter: the feeds, the outputs to fetch, and how to render the answer. */
export interface ParsedRequest {
  feeds: Feeds;
  outputs: string[] | undefined;
  render(outputs: Outputs): unknown;
}

/**
 * Any of the four formats by name, for callers that are not a format's own route (async predictions). `csv` is
 * only meaningful for MLflow; `fallbackId` is the OIP `id` when the request has none.
 */
export function parseAnyFormat(
  format: TPredictFormat,
  body: unknown,
  csv: boolean,
  sv: ServedVersion,
  limits: ServingLimits,
  fallbackId: string,
): ParsedRequest {
  switch (format) {
    case 'modelyard':
      return { feeds: parseModelyard(body, sv, limits), outputs: undefined, render: (o) => renderModelyard(sv, o) };
    case 'v2': {
      const p = parseOip(body, sv, limits);
      return {
        feeds: p.feeds,
        outputs: p.outputs,
        render: (o) => renderOip(sv, o, p.outputs ?? sv.outputNames, p.id ?? fallbackId),
      };
    }
    case 'v1': {
      const p = parseRowFormat(body, sv, limits);
      return { feeds: p.feeds, outputs: undefined, render: (o) => renderRowFormat(sv, o, p.columnar) };
    }
    case 'mlflow':
      return {
        feeds: parseMlflow(body, csv ? 'csv' : 'json', sv, limits),
        outputs: undefined,
        render: (o) => renderMlflow(sv, o),
      };
  }
}
