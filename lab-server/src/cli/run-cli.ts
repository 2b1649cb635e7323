/**
 * Runs a command-line entry point: a failure prints one clear sentence (the error's message, which
 * says what to do) and exits non-zero, without a stack trace unless DEBUG is set.
 */
export function runCli(main: () => Promise<void>): void {
	main().catch((error: unknown) => {
		const message = error instanceof Error ? error.message : String(error);
		process.stderr.write(`\n✖ ${message}\n`);
		if (process.env.DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
		process.exit(1);
	});
}
