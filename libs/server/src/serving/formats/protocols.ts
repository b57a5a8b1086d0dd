import { AppError } from '../../platform/errors.js';
import { MLFLOW_PROTOCOL } from './mlflow.format.js';
import { MODELYARD_PROTOCOL } from './modelyard.format.js';
import { OIP_V2_PROTOCOL } from './oip-v2.format.js';
import type { PredictProtocol } from './protocol.js';
import { TFS_PROTOCOL } from './row-format.format.js';

/**
 * Every request format, listed once: the api's predict router serves their routes, async predictions take their
 * names, the OpenAPI document describes them. Adding a format is one `<name>.format.ts` exporting its
 * PredictProtocol, plus its line here.
 */
export const PROTOCOLS = [MODELYARD_PROTOCOL, OIP_V2_PROTOCOL, TFS_PROTOCOL, MLFLOW_PROTOCOL] as const;

/** The one name of each format, as metrics, contracts and error shapes use it. */
export type ProtocolName = (typeof PROTOCOLS)[number]['name'];

export const PROTOCOL_NAMES = PROTOCOLS.map((p) => p.name) as [ProtocolName, ...ProtocolName[]];

const BY_NAME = new Map<string, PredictProtocol<ProtocolName>>(
  PROTOCOLS.flatMap((p) => [p.name, ...(p.formerNames ?? [])].map((n) => [n, p] as const)),
);

/** Every name a caller may use for a format, former names included (`?format=` of async predictions). */
export const ACCEPTED_PROTOCOL_NAMES = [...BY_NAME.keys()] as [string, ...string[]];

/** The protocol of a name, a former name included (`v2` is OIP v2); undefined for none. */
export const protocolNamed = (name: string): PredictProtocol<ProtocolName> | undefined => BY_NAME.get(name);

/** For rows written by this code: a name that is not a protocol's is a bug, not bad input. */
export function protocolOf(name: string): PredictProtocol<ProtocolName> {
  const p = BY_NAME.get(name);
  if (!p) throw new AppError('INTERNAL', `No request format named ${name}`);
  return p;
}
