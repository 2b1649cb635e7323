import { defineConfig } from 'vitest/config';
import { closingLineReporter } from './scripts/closing-line-reporter';

/**
 * The projects, run one after the other (`sequence.groupOrder`), cheapest first:
 * - `unit`: pure logic, no Docker, runs in parallel;
 * - `docker`: real containers and real servers on port 0; files run one at a time so two
 *   cores are not oversubscribed by several labs booting at once;
 * - `docker-cluster`: the test hosts (scripts/test-hosts.ts), two more Docker engines on this
 *   machine in one Swarm with the first;
 * - `e2e`: Debian's chromium driven by playwright-core against the built site and a real lab;
 * - `bench`: `npm run bench -- --quick --peer --recordings --json` and `-- --cluster --quick --json`
 *   once each, so that a broken benchmark fails the tests.
 */
export default defineConfig({
	test: {
		reporters: ['default', closingLineReporter()],
		projects: [
			{
				extends: true,
				test: {
					name: 'unit',
					include: ['lab-server/**/*.test.ts', 'src/**/*.test.ts'],
					exclude: ['**/*.docker.test.ts', '**/*.cluster.test.ts'],
					sequence: { groupOrder: 0 },
				},
			},
			{
				extends: true,
				test: {
					name: 'docker',
					include: ['lab-server/**/*.docker.test.ts'],
					globalSetup: ['lab-server/test/global-setup.ts'],
					pool: 'forks',
					poolOptions: { forks: { singleFork: true } },
					sequence: { groupOrder: 1 },
					testTimeout: 120_000,
					hookTimeout: 600_000,
				},
			},
			{
				extends: true,
				test: {
					name: 'docker-cluster',
					include: ['lab-server/**/*.cluster.test.ts'],
					globalSetup: ['lab-server/test/global-setup.ts'],
					pool: 'forks',
					poolOptions: { forks: { singleFork: true } },
					sequence: { groupOrder: 2 },
					testTimeout: 180_000,
					hookTimeout: 300_000,
				},
			},
			{
				extends: true,
				test: {
					name: 'e2e',
					include: ['e2e/**/*.e2e.ts'],
					globalSetup: ['lab-server/test/global-setup.ts'],
					pool: 'forks',
					poolOptions: { forks: { singleFork: true } },
					sequence: { groupOrder: 3 },
					testTimeout: 180_000,
					hookTimeout: 600_000,
				},
			},
			{
				extends: true,
				test: {
					name: 'bench',
					include: ['bench/**/*.smoke.test.ts'],
					globalSetup: ['lab-server/test/global-setup.ts'],
					sequence: { groupOrder: 4 },
					testTimeout: 900_000,
				},
			},
		],
	},
});
