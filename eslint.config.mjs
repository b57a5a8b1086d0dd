// ESLint: the rules CODE_STYLE.md states that a machine can check. Prettier owns the layout (.prettierrc.json).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/.next/**',
      '**/node_modules/**',
      '**/generated/**',
      '.data/**',
      'bench/results/**',
      'deploy/**',
      'clients/**',
      'apps/web/next-env.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // TypeScript resolves names itself (and knows Node's and the browser's globals); the core rule does not.
      'no-undef': 'off',
      // Refusing control characters in paths and redirects is the point of those patterns.
      'no-control-regex': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // "No `as never`": a cast that turns the type checker off.
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSAsExpression > TSNeverKeyword',
          message: 'No `as never`: give the value its real type (db/json.ts asJson for JSON columns).',
        },
      ],
    },
  },
  {
    // Tests read loosely typed JSON answers; `any` there is the answer's shape, not a payload type.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', 'test/**', '**/*test-support.ts', 'libs/testing/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-restricted-syntax': 'off' },
  },
);
