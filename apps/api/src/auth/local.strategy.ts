import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-local';
import type { FastifyRequest } from 'fastify';
import { AuthService } from '@modelyard/server';

/** passport-local over our AuthService: email + password -> a new session (rate-limited, audited). */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy, 'local') {
  constructor(private readonly auth: AuthService) {
    super({ usernameField: 'email', passwordField: 'password', passReqToCallback: true, session: false });
  }

  async validate(req: FastifyRequest, email: string, password: string) {
    return this.auth.login(email, password, req.ip, req.headers['user-agent'] ?? null);
  }
}
