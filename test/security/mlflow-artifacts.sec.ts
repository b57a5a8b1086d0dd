import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { e2eEnv, http } from '@modelyard/testing';

const { apiUrl, adminApiKey: admin } = e2eEnv();

/**
 * A raw request: fetch and Fastify's inject both resolve `..` and `%2e%2e` segments of a URL before sending it,
 * so only a socket shows what a hostile client can really put in an artifact path.
 */
function raw(method: string, path: string, body = ''): Promise<{ status: number; json: any }> {
  const url = new URL(apiUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/plain', 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('MLflow artifact paths over a raw socket', () => {
  let run = '';
  before(async () => {
    const r = await http(apiUrl, 'POST', '/api/2.0/mlflow/runs/create', { token: admin, body: {} });
    assert.equal(r.status, 200, r.text);
    run = r.json.run.info.run_id;
  });

  it('refuses dot segments, encoded or not, and backslashes before storage sees them', async () => {
    const base = `/api/2.0/mlflow-artifacts/artifacts/0/${run}/artifacts`;
    for (const p of [
      `${base}/../../../../../../etc/passwd`,
      `${base}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/x`,
      `${base}/..%2f..%2f..%2f..%2fx`,
      `${base}/a\\..\\..\\..\\x`,
      `${base}/./x`,
      `/api/2.0/mlflow-artifacts/artifacts/../../../x`,
    ]) {
      for (const method of ['PUT', 'GET', 'DELETE']) {
        const r = await raw(method, p, method === 'PUT' ? 'owned' : '');
        // 400 from the path check, or 404 when the router finds no route for what is left
        assert.ok([400, 404].includes(r.status), `${method} ${p}: ${r.status} ${JSON.stringify(r.json)}`);
        if (r.status === 400) assert.equal(r.json.error_code, 'INVALID_PARAMETER_VALUE', `${method} ${p}`);
      }
    }
    const list = await raw('GET', `/api/2.0/mlflow-artifacts/artifacts?path=0/${run}/artifacts/../../..`);
    assert.equal(list.status, 400);
    assert.equal(list.json.error_code, 'INVALID_PARAMETER_VALUE');
  });

  it('still stores and returns a plain file of the run', async () => {
    const p = `/api/2.0/mlflow-artifacts/artifacts/0/${run}/artifacts/notes/readme.txt`;
    assert.equal((await raw('PUT', p, 'hello')).status, 200);
    const back = await http(apiUrl, 'GET', p, { token: admin });
    assert.equal(back.text, 'hello');
  });
});
