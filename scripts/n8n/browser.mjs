// The system's Chromium (Debian's `chromium` package), driven by playwright-core, for tests that use
// n8n's editor as a user does. playwright-core downloads no browser; none is reachable from CI.
//
//   const browser = await launchChromium();          // { context, page, close() }
//   await browser.page.goto(n8n.url);
//   await browser.close();                           // the browser and its profile folder
//
// Locators use n8n's own test attribute: page.getByTestId('ndv') finds [data-test-id="ndv"].

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, selectors } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// Headless, and nothing that reaches past 127.0.0.1: no sync, updates or background fetches.
const CHROMIUM_ARGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

selectors.setTestIdAttribute('data-test-id');

/**
 * Chromium with a fresh, empty profile (no cookies, no n8n session left from another run).
 * `{ context, page, close() }`; close() also deletes the profile.
 */
export async function launchChromium({ viewport = { width: 1440, height: 900 } } = {}) {
	const profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
	let context;
	try {
		context = await chromium.launchPersistentContext(profile, {
			executablePath: CHROMIUM_PATH,
			headless: true,
			args: CHROMIUM_ARGS,
			viewport,
			locale: 'en-US',
		});
	} catch (error) {
		await rm(profile, { recursive: true, force: true });
		throw new Error(
			`Chromium did not start from ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH): ${error.message}`,
		);
	}
	const page = context.pages()[0] ?? (await context.newPage());
	return {
		context,
		page,
		close: async () => {
			await context.close().catch(() => {});
			await rm(profile, { recursive: true, force: true, maxRetries: 3 });
		},
	};
}
