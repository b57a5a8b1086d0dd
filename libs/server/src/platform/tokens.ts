/** DI tokens for values (not classes) shared by api and worker modules. */
export const COMMON_CONFIG = Symbol('COMMON_CONFIG');
export const LOGGER = Symbol('LOGGER');
export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');
