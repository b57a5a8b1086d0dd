import { Injectable, type ExecutionContext } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { ZLoginRequest } from '@modelyard/contracts';
import { AppError } from '@modelyard/server';
import { ZodPipe } from '../common/zod.pipe.js';

@Injectable()
export class LoginGuard extends AuthGuard('local') {
  override canActivate(ctx: ExecutionContext) {
    // Guards run before pipes: validate here so a malformed body is a 400, not passport's bare 401.
    const req = ctx.switchToHttp().getRequest<{ body: unknown }>();
    req.body = new ZodPipe(ZLoginRequest).transform(req.body);
    return super.canActivate(ctx);
  }

  override handleRequest<T>(err: unknown, user: T): T {
    if (err) throw err;
    if (!user) throw new AppError('INVALID_CREDENTIALS', 'Invalid email or password');
    return user;
  }
}
