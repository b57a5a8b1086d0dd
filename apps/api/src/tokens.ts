export const API_CONFIG = Symbol('API_CONFIG');
