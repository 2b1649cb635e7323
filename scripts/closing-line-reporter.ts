import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';

/**
 * A vitest reporter that ends the output with one line CI reads to judge the run:
 *
 *     tests: 12 passed, 0 failed            (", 3 skipped" is added when any were skipped)
 *
 * counting test cases across all projects. "failed" also counts what failed outside any test,
 * since vitest fails the run for it too and a green-looking line must never hide it: a test file
 * that could not be loaded, a suite whose hooks threw, an error outside any test. A run that was
 * interrupted (Ctrl-C, `--bail`) counts the tests it never ran as failed for the same reason.
 *
 * Vitest prints more after the reporters' end-of-run hooks (global teardown, "close timed out"),
 * so in `vitest run` the line is written when the process exits; in watch mode, after each run.
 */
export function closingLineReporter(): Reporter {
	let line: string | undefined;
	let watching = false;
	return {
		onInit(vitest) {
			watching = vitest.config.watch;
			if (!watching) {
				process.once('exit', () => {
					if (line !== undefined) process.stdout.write(`${line}\n`);
				});
			}
		},
		onTestRunStart() {
			line = undefined;
		},
		onTestRunEnd(modules, unhandledErrors, reason) {
			line = closingLine(count(modules, unhandledErrors.length, reason));
		},
		// Vitest calls onFinished after onTestRunEnd, and this reporter after the default one.
		onFinished() {
			if (watching && line !== undefined) process.stdout.write(`${line}\n`);
		},
	};
}

interface Counts {
	passed: number;
	failed: number;
	skipped: number;
}

function count(
	modules: ReadonlyArray<TestModule>,
	unhandledErrors: number,
	reason: TestRunEndReason,
): Counts {
	const counts: Counts = { passed: 0, failed: unhandledErrors, skipped: 0 };
	for (const module of modules) {
		for (const test of module.children.allTests()) {
			const { state } = test.result();
			if (state === 'passed') counts.passed++;
			else if (state === 'failed') counts.failed++;
			else if (state === 'pending' && reason === 'interrupted') counts.failed++;
			else counts.skipped++;
		}
		// Errors of a module or suite not carried by a failed test: a load error, a throwing hook.
		for (const suite of [module, ...module.children.allSuites()]) {
			if (suite.errors().length > 0) counts.failed++;
		}
	}
	return counts;
}

function closingLine({ passed, failed, skipped }: Counts): string {
	return `tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}
