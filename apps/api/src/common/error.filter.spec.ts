import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { AppError } from '@modelyard/server';
import { toErrorBody } from './error.filter.js';

describe('toErrorBody', () => {
  it('maps an AppError code to its status and keeps the message and details', () => {
    const r = toErrorBody(new AppError('CONFLICT', 'already exists', { field: 'name' }), 'id-1');
    assert.equal(r.status, 409);
    assert.deepEqual(r.body, {
      error: { code: 'CONFLICT', message: 'already exists', errorId: 'id-1', details: { field: 'name' } },
    });
    assert.equal(r.unexpected, false);
  });

  it('maps Nest 4xx exceptions to codes', () => {
    assert.equal(toErrorBody(new NotFoundException(), 'x').body.error.code, 'NOT_FOUND');
    assert.equal(toErrorBody(new PayloadTooLargeException(), 'x').status, 413);
  });

  it('maps Fastify client errors (body parsing) to 4xx', () => {
    const e = Object.assign(new Error('Body is not valid JSON'), {
      statusCode: 400,
      code: 'FST_ERR_CTP_INVALID_JSON_BODY',
    });
    const r = toErrorBody(e, 'x');
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'BAD_REQUEST');
  });

  it('hides the message of unexpected errors and flags them for logging', () => {
    const r = toErrorBody(new Error('password=hunter2 in a connection string'), 'err-9');
    assert.equal(r.status, 500);
    assert.equal(r.body.error.code, 'INTERNAL');
    assert.equal(r.body.error.errorId, 'err-9');
    assert.ok(!r.body.error.message.includes('hunter2'));
    assert.equal(r.unexpected, true);
  });
});
