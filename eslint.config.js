// ESLint: type-aware rules that catch bugs. Formatting is Prettier's (.prettierrc.json); the
// formatting rules that would fight it are turned off last (eslint-config-prettier).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// These are pure (deciders, folds, decimal arithmetic, formatting): a call whose result is dropped did
// nothing. evolveOrderInPlace and a decider's evolveInPlace update their state in place and stay allowed.
const PURE_FN = '/^(decide[A-Z]\\w*|evolve|evolve(Order|Risk|Positions)|fold([A-Z]\\w*)?|fmt|dec|floorTo|ceilTo|makeEvent|toRecord|initial[A-Z]\\w*)$/';
// Decimal methods, and decider objects (`d.decide(s, c)`, `d.evolve(s, e)`); not `fold`: the Redis
// projector's `this.fold(r)` folds into its own view.
const PURE_METHOD = '/^(plus|minus|times|div|abs|round|decide|evolve)$/';
const DROPPED = 'The result of a pure function was dropped: use it, or remove the call.';

export default defineConfig(
  { ignores: ['dist/', 'dist-bench/', 'node_modules/', '.cache/', '.data/', 'schemas/', 'bench/scratch/'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // One program for src, test and bench (tsconfig.json alone covers only src).
      parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // node:test runs top-level test() calls itself: their promises need no await.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] }],
      '@typescript-eslint/no-misused-promises': 'error',
      // Promise.all over values that may or may not be promises (a sync fast path) is intended.
      '@typescript-eslint/await-thenable': ['error', { allowMixedPromiseArrays: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // A switch with a default is exhaustive on purpose (folds that ignore most event types).
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/only-throw-error': 'error',
      // Passing on a caught `unknown` as is, is fine; rejecting with a literal is not.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // A returned promise inside try/catch/finally must be awaited there, or the handlers miss it.
      '@typescript-eslint/return-await': ['error', 'error-handling-correctness-only'],
      '@typescript-eslint/require-array-sort-compare': ['error', { ignoreStringArrays: true }],
      // Dec has a canonical toString.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allow: [
            { from: 'lib', name: ['Error', 'URL', 'URLSearchParams'] },
            { from: 'file', name: 'Dec', path: 'src/domain/decimal.ts' },
          ],
        },
      ],
      // Off: async methods without await implement Promise-returning interfaces (a sim venue, a
      // file journal) and turn a throw into a rejection; that is intended here.
      '@typescript-eslint/require-await': 'off',
      eqeqeq: ['error', 'smart'],
      'no-fallthrough': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: `ExpressionStatement > CallExpression[callee.name=${PURE_FN}]`, message: DROPPED },
        { selector: `ExpressionStatement > AwaitExpression > CallExpression[callee.name=${PURE_FN}]`, message: DROPPED },
        { selector: `ExpressionStatement > CallExpression[callee.property.name=${PURE_METHOD}]`, message: DROPPED },
      ],
    },
  },
  {
    // Off in tests: what they flag there is JSON.parse of CLI output and `new Array(n)`, which the
    // assertions then check; typing those adds casts, not safety. src and bench keep them.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  prettier,
);
