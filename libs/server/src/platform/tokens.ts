/** DI tokens for values (not classes) shared by api and worker modules. */
export const COMMON_CONFIG = Symbol('COMMON_CONFIG');
export const LOGGER = Symbol('LOGGER');
export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');
/** SECRET_KEY: encrypts secrets we must read back (webhook signing keys). */
export const SECRET_KEY = Symbol('SECRET_KEY');
