/**
 * Debian's Chromium under playwright-core, as the browser tests and the benchmarks start it
 * (`npx playwright install` cannot download a browser on these machines). `CHROMIUM_PATH`
 * overrides where it is.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function hasChromium(): boolean {
	return existsSync(CHROMIUM);
}

export function launchChromium(): Promise<Browser> {
	return chromium.launch({
		executablePath: CHROMIUM,
		args: [
			'--headless',
			'--no-sandbox',
			'--disable-gpu',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
}
