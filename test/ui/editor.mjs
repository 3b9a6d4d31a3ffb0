// What a user does in n8n's editor, in terms of its DOM (data-test-id attributes, as n8n's own
// Playwright tests use them). Every wait is on a condition; none is a fixed delay.

const NAVIGATION_TIMEOUT_MS = 90_000;

/** Waits for the browser to paint twice: Vue has applied what the last event changed. */
export async function painted(page) {
	await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
}

/**
 * Waits for the page's transitions to end (an NDV fading in, a dropdown opening), so a screenshot
 * shows what the user sees once it stops moving. Endless (spinners) and paused animations are left
 * out: they never finish.
 */
export async function stoppedMoving(page) {
	await page.evaluate(() =>
		Promise.all(
			document
				.getAnimations()
				.filter(
					(animation) =>
						animation.playState === 'running' && animation.effect?.getComputedTiming().endTime !== Infinity,
				)
				.map((animation) => animation.finished.catch(() => undefined)),
		),
	);
}

/**
 * Counts the editor's calls that load a node's dynamic parameters (options lists, mapper fields),
 * so a test can wait until the form has everything it will show.
 */
export function trackParameterLoads(page) {
	let inFlight = 0;
	const isLoad = (request) => request.url().includes('/rest/dynamic-node-parameters/');
	page.on('request', (request) => {
		if (isLoad(request)) inFlight += 1;
	});
	const done = (request) => {
		if (isLoad(request)) inFlight -= 1;
	};
	page.on('requestfinished', done);
	page.on('requestfailed', done);
	return {
		async settled({ timeoutMs = 60_000 } = {}) {
			// The form sends its loads when it mounts: let it mount, then wait for their answers.
			await painted(page);
			const deadline = Date.now() + timeoutMs;
			while (inFlight > 0) {
				if (Date.now() > deadline) throw new Error(`the node's parameters were still loading after ${timeoutMs} ms`);
				await page.waitForEvent('requestfinished', { timeout: Math.max(1, deadline - Date.now()) }).catch(() => {});
			}
			await painted(page);
		},
	};
}

/** Fills n8n's first-run form and waits to be signed in. */
export async function setUpOwner(page, url, owner) {
	await page.goto(url, { timeout: NAVIGATION_TIMEOUT_MS });
	const form = page.getByTestId('setup-form');
	await form.waitFor({ timeout: NAVIGATION_TIMEOUT_MS });
	await form.getByTestId('email').locator('input').fill(owner.email);
	await form.getByTestId('firstName').locator('input').fill(owner.firstName);
	await form.getByTestId('lastName').locator('input').fill(owner.lastName);
	await form.getByTestId('password').locator('input').fill(owner.password);
	await page.getByTestId('form-submit-button').click();
	await page.waitForURL((address) => !address.pathname.startsWith('/setup'), { timeout: NAVIGATION_TIMEOUT_MS });
}

/** Opens a saved workflow (or `new`) and waits for its canvas. */
export async function openWorkflow(page, url, workflowId) {
	await page.goto(`${url}/workflow/${workflowId}`, { timeout: NAVIGATION_TIMEOUT_MS });
	await page.getByTestId('canvas-wrapper').waitFor({ timeout: NAVIGATION_TIMEOUT_MS });
	if (workflowId !== 'new') await page.getByTestId('canvas-node').first().waitFor({ timeout: NAVIGATION_TIMEOUT_MS });
}

export function canvasNode(page, name) {
	return page.locator(`[data-test-id="canvas-node"][data-node-name="${name}"]`);
}

/** Opens a node's details view (NDV) by double-clicking it on the canvas. */
export async function openNode(page, name) {
	await canvasNode(page, name).dblclick();
	const ndv = page.getByTestId('ndv');
	await ndv.getByTestId('node-parameters').waitFor();
	return ndv;
}

export async function closeNode(page) {
	// n8n 2.x closes the NDV with a cross, 1.x with "Back to canvas".
	await page.getByTestId('ndv-close-button').or(page.getByTestId('back-to-canvas')).first().click();
	await page.getByTestId('ndv').waitFor({ state: 'hidden' });
}

/** The option lines of the open dropdown: each option's first line is its name. */
async function pickOption(page, name, what) {
	const options = page.getByRole('option');
	await options.first().waitFor();
	const texts = await options.allInnerTexts();
	const index = texts.findIndex((text) => text.split('\n')[0].trim() === name);
	if (index === -1) throw new Error(`${what} offers no "${name}"; it offers: ${texts.map((t) => t.split('\n')[0]).join(', ')}`);
	await options.nth(index).click();
	await options.first().waitFor({ state: 'hidden' });
}

/** Chooses an option of an options parameter in the NDV by its displayed name. */
export async function chooseParameterOption(page, ndv, parameter, name) {
	await ndv.getByTestId(`parameter-input-${parameter}`).click();
	await pickOption(page, name, `the ${parameter} parameter`);
}

/** Chooses an option of a dropdown found by its test id (e.g. the mapper's mode). */
export async function chooseOption(page, container, testId, name) {
	await container.getByTestId(testId).click();
	await pickOption(page, name, testId);
}

/**
 * The parameters the NDV marks with an issue (the red warning sign): `[{ parameter, says }]`, where
 * `says` is what n8n shows on hovering the sign.
 */
export async function parameterIssues(page, ndv) {
	const marks = ndv.getByTestId('parameter-issues');
	const issues = [];
	for (let index = 0; index < (await marks.count()); index += 1) {
		const mark = marks.nth(index);
		const parameter = await mark.evaluate((element) => {
			const input = element.closest('[data-test-id^="parameter-input-"]');
			return (input?.getAttribute('data-test-id') ?? '').replace(/^parameter-input-/, '') || '(unnamed)';
		});
		await mark.hover();
		const tooltip = page.getByRole('tooltip').last();
		const says = await tooltip.waitFor({ timeout: 5_000 }).then(
			() => tooltip.innerText(),
			() => '',
		);
		issues.push({ parameter, says: says.trim() });
	}
	return issues;
}
