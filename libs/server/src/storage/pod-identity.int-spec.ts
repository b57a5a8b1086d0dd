import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { loadWorkerConfig } from '@modelyard/config';
import type { TokenCredential } from '@azure/core-auth';
import { startAzurite, startS3Server, type S3TestServer } from '@modelyard/testing';
import { AzureBackend } from './azure.backend.js';
import { S3Backend } from './s3.backend.js';

/**
 * What EKS does for a pod whose service account has an IRSA role: it mounts a web identity token and sets
 * AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE; the SDK trades the token at STS for short-lived keys. Here STS is
 * a local stand-in (AWS_ENDPOINT_URL_STS) that hands out the keys the local S3 server (s3rver) accepts.
 */
describe('S3 storage with the pod identity (no S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY)', () => {
  let s3: S3TestServer;
  let sts: Server;
  let dir: string;
  const exchanges: URLSearchParams[] = [];
  const ROLE = 'arn:aws:iam::123456789012:role/modelyard';
  const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.projected-service-account-token.signature';

  before(async () => {
    s3 = await startS3Server({ bucket: 'pod-identity' });
    sts = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        exchanges.push(form);
        const ok = form.get('Action') === 'AssumeRoleWithWebIdentity' && form.get('WebIdentityToken') === TOKEN;
        res.writeHead(ok ? 200 : 403, { 'content-type': 'text/xml' });
        res.end(ok ? credentialsXml(s3.accessKeyId, s3.secretAccessKey) : '<ErrorResponse/>');
      });
    });
    await new Promise<void>((resolve) => sts.listen(0, '127.0.0.1', resolve));
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelyard-irsa-'));
    writeFileSync(path.join(dir, 'token'), TOKEN);
    // Nothing else in the default chain may answer: no keys in the environment, no profiles, no instance metadata.
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
      delete process.env[k];
    Object.assign(process.env, {
      AWS_CONFIG_FILE: path.join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${(sts.address() as AddressInfo).port}`,
    });
  });
  after(async () => {
    await s3?.stop();
    sts?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const backend = () => {
    const { S3_ACCESS_KEY_ID: _k, S3_SECRET_ACCESS_KEY: _s, ...where } = s3.env;
    const cfg = loadWorkerConfig({
      DATABASE_URL: 'postgresql://x@127.0.0.1/x',
      REDIS_URL: 'redis://127.0.0.1:6379',
      SECRET_KEY: 'k'.repeat(40),
      STORAGE_DEFAULT: 's3',
      ...where,
    });
    assert.equal(cfg.storage.s3!.accessKeyId, undefined, 'the config keeps no keys');
    return new S3Backend(cfg.storage.s3!);
  };

  it('refuses to store anything when the pod has no identity either', async () => {
    const b = backend();
    await assert.rejects(
      b.put('no-identity.bin', Readable.from([Buffer.from('x')]), { maxBytes: 1024, contentType: 'x' }),
      /credential/i,
    );
    await b.close();
  });

  it('stores and reads artifacts with keys the SDK got from STS for the projected service-account token', async () => {
    process.env.AWS_ROLE_ARN = ROLE;
    process.env.AWS_WEB_IDENTITY_TOKEN_FILE = path.join(dir, 'token');
    const b = backend();
    const { uri } = await b.put('models/iris.onnx', Readable.from([Buffer.from('onnx bytes')]), {
      maxBytes: 1024,
      contentType: 'application/octet-stream',
    });
    assert.equal(uri, 's3://pod-identity/models/iris.onnx');
    const chunks: Buffer[] = [];
    for await (const c of await b.get(uri)) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'onnx bytes');
    assert.equal(exchanges.length, 1, 'one exchange; the keys are cached until they expire');
    assert.equal(exchanges[0]!.get('RoleArn'), ROLE);
    assert.equal(exchanges[0]!.get('WebIdentityToken'), TOKEN);
    await b.close();
  });
});

function credentialsXml(accessKeyId: string, secretAccessKey: string): string {
  const expires = new Date(Date.now() + 3600_000).toISOString();
  return `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>${accessKeyId}</AccessKeyId>
      <SecretAccessKey>${secretAccessKey}</SecretAccessKey>
      <SessionToken>session-token</SessionToken>
      <Expiration>${expires}</Expiration>
    </Credentials>
    <SubjectFromWebIdentityToken>system:serviceaccount:modelyard:my-modelyard</SubjectFromWebIdentityToken>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/modelyard/pod</Arn>
      <AssumedRoleId>AROAEXAMPLE:pod</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`;
}

/**
 * What Azure Workload Identity gives a pod: no key, a token for https://storage.azure.com. Here the token comes from
 * a stand-in for DefaultAzureCredential (the exchange with Entra ID needs the real one) and Azurite checks it as
 * Azure does (over https, audience, issuer, lifetime).
 */
describe('Azure storage with the pod identity (AZURE_STORAGE_ACCOUNT_URL, no connection string)', () => {
  let dir: string;
  let azure: Awaited<ReturnType<typeof startAzurite>>;
  const scopes: string[] = [];
  const credential: TokenCredential = {
    getToken: async (scope) => {
      scopes.push(...[scope].flat());
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        aud: 'https://storage.azure.com',
        iss: 'https://sts.windows.net/tenant/',
        iat: now,
        nbf: now - 60,
        exp: now + 3600,
      };
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return {
        token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.sig`,
        expiresOnTimestamp: (now + 3600) * 1000,
      };
    },
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelyard-azure-tls-'));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    azure = await startAzurite({ container: 'pod-identity', tls: { cert, key } });
    // The self-signed certificate of this test's Azurite, in this test process only.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  });
  after(async () => {
    await azure?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores and reads artifacts with a bearer token for the storage audience, and is refused with a token that is not one', async () => {
    const cfg = loadWorkerConfig({
      DATABASE_URL: 'postgresql://x@127.0.0.1/x',
      REDIS_URL: 'redis://127.0.0.1:6379',
      SECRET_KEY: 'k'.repeat(40),
      STORAGE_DEFAULT: 'azure',
      AZURE_CONTAINER: 'pod-identity',
      AZURE_STORAGE_ACCOUNT_URL: azure.accountUrl,
    });
    assert.deepEqual(cfg.storage.azure, { accountUrl: azure.accountUrl, container: 'pod-identity' });
    const b = new AzureBackend(cfg.storage.azure!, undefined, credential);
    const { uri } = await b.put('models/iris.onnx', Readable.from([Buffer.from('onnx bytes')]), {
      maxBytes: 1024,
      contentType: 'application/octet-stream',
    });
    assert.equal(uri, 'azure://pod-identity/models/iris.onnx');
    const chunks: Buffer[] = [];
    for await (const c of await b.get(uri)) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'onnx bytes');
    assert.deepEqual([...new Set(scopes)], ['https://storage.azure.com/.default']);
    await b.close();
    // The same account refuses a caller whose token is for something else.
    const wrong: TokenCredential = {
      getToken: async () => ({ ...(await credential.getToken('x'))!, token: 'not-a-jwt' }),
    };
    const other = new AzureBackend(cfg.storage.azure!, undefined, wrong);
    await assert.rejects(other.get(uri));
    await other.close();
  });
});
