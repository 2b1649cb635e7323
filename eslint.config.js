// @ts-check
/**
 * Lint, run by `npm test` (`npm run lint`). Besides the recommended rules:
 * - promises are awaited or explicitly voided (`no-floating-promises`, `no-misused-promises`):
 *   a forgotten rejection in the lab server is an unhandled rejection, and a crash;
 * - the site imports nothing of the server's but its contract, `lab-server/src/api/`, and that
 *   folder imports nothing at all outside itself (it is bundled into the browser).
 */
import js from '@eslint/js';
import astro from 'eslint-plugin-astro';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const typed = ['**/*.ts'];

export default tseslint.config(
	{
		ignores: [
			'dist/',
			'.astro/',
			'node_modules/',
			'.lab-state/',
			'e2e/screenshots/',
			'bench/results/',
		],
	},
	js.configs.recommended,
	...tseslint.configs.recommended,
	...astro.configs.recommended,
	{
		files: typed,
		languageOptions: {
			parserOptions: {
				projectService: {
					allowDefaultProject: ['*.ts'],
				},
				tsconfigRootDir: import.meta.dirname,
			},
		},
		rules: {
			'@typescript-eslint/no-floating-promises': 'error',
			'@typescript-eslint/no-misused-promises': [
				'error',
				{ checksVoidReturn: { arguments: false } },
			],
		},
	},
	{
		files: ['**/*.ts', '**/*.astro'],
		rules: {
			'@typescript-eslint/no-unused-vars': [
				'error',
				{ argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
			],
			// `typeof import('./x')` types a module that is loaded lazily, on purpose.
			'@typescript-eslint/consistent-type-imports': [
				'error',
				{ fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
			],
		},
	},
	{
		files: ['src/**/*.ts', 'src/**/*.astro'],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						{
							regex: '(^|/)lab-server/(?!src/api(/[a-z-]+)?$)',
							message: 'The site sees the server only through its contract, lab-server/src/api.',
						},
					],
				},
			],
		},
	},
	{
		files: ['lab-server/src/api/**/*.ts'],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						{
							regex: '^(\\.\\./|node:)',
							message:
								'lab-server/src/api is the browser-safe contract: it imports nothing outside itself.',
						},
					],
				},
			],
		},
	},
	{
		files: ['**/*.mjs', '**/*.js'],
		languageOptions: { globals: globals.node },
	},
);
