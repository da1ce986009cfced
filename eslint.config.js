// Lint is part of `npm test`: the recommended rules plus typescript-eslint's type-aware set
// (floating and misused promises, unsafe `any`, needless assertions, unbound methods, …), which
// reads the TypeScript project. Tests keep every type-aware rule except the no-unsafe-* family:
// they read HTTP answers as `any` on purpose (support/function-server.ts) to assert on their shape.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', 'runs/**', 'training/**', '**/*.js', 'deploy-bundle/**', '.local/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
      // Off: its view of the types ignores noUncheckedIndexedAccess here, so it calls assertions
      // needless that tsc (npm run typecheck) requires.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    files: ['**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
