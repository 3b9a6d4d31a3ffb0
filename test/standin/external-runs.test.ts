import type { DifyStandin } from './server';
import { startDifyStandin } from './server';

/** Runs made behind a client's back (web app, schedule, account) and the logs that list them (dify-api.md §8.4). */

let standin: DifyStandin;
beforeAll(async () => {
	standin = await startDifyStandin({ seedLogs: 3 });
});
afterAll(async () => await standin.close());
beforeEach(() => standin.reset());

const origin = () => standin.url.replace(/\/v1$/, '');

async function api(path: string, init: { method?: string; json?: unknown; key?: string } = {}): Promise<{ status: number; json: any }> {
	const response = await fetch(path.startsWith('/_') ? `${origin()}${path}` : `${standin.url}${path}`, {
		method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
		headers: {
			authorization: `Bearer ${init.key ?? standin.apiKey}`,
			...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
		},
		body: init.json === undefined ? undefined : JSON.stringify(init.json),
	});
	return { status: response.status, json: await response.json() };
}

const logs = async (query = '') => (await api(`/workflows/logs${query}`)).json;

describe('stand-in: runs made outside the Service API', () => {
	it('POST /_standin/runs adds runs with their origin, listed newest first', async () => {
		const made = await api('/_standin/runs', { json: { createdFrom: 'web-app', triggeredFrom: 'schedule', user: 'visitor', count: 3 }, key: 'none' });
		expect(made.status).toBe(201);
		expect(made.json.runs).toHaveLength(3);
		const page = await logs('?limit=3');
		expect(page.data.map((row: any) => row.workflow_run.id)).toEqual(made.json.runs.map((run: any) => run.id).reverse());
		expect(page.data[0]).toMatchObject({
			created_from: 'web-app',
			created_by_role: 'end_user',
			created_by_end_user: { session_id: 'visitor' },
			workflow_run: { status: 'running', triggered_from: 'schedule', finished_at: null },
		});
	});

	it('an account run is listed as the account\'s and cannot be re-attached', async () => {
		const run = await standin.addRun({ account: true, scenario: 'paused' });
		const [row] = (await logs('?limit=1')).data;
		expect(row).toMatchObject({ created_from: 'installed-app', created_by_role: 'account', created_by_end_user: null });
		expect(row.created_by_account.email).toBe('owner@example.com');
		const events = await fetch(`${standin.url}/workflow/${run.id}/events?user=${encodeURIComponent(run.user)}`, {
			headers: { authorization: `Bearer ${standin.apiKey}` },
		});
		expect(events.status).toBe(404);
		expect(await events.json()).toMatchObject({ code: 'not_found', message: 'Workflow run not found' });
	});

	it('held runs end and pause when told, in any order; logs show paused but cannot filter by it', async () => {
		const [a, b] = [await standin.addRun(), await standin.addRun()];
		expect((await api(`/_standin/runs/${b.id}/end`, { json: { status: 'failed', error: 'boom' } })).json).toMatchObject({ status: 'failed' });
		expect((await api(`/_standin/runs/${a.id}/pause`, { json: {} })).json).toMatchObject({ status: 'paused' });
		const rows = (await logs('?limit=2')).data;
		expect(rows.map((row: any) => [row.workflow_run.id, row.workflow_run.status])).toEqual([
			[b.id, 'failed'],
			[a.id, 'paused'],
		]);
		expect((await api(`/workflows/run/${b.id}`)).json).toMatchObject({ status: 'failed', error: 'boom' });
		const byStatus = await api('/workflows/logs?status=paused');
		expect([byStatus.status, byStatus.json.code]).toEqual([400, 'invalid_param']);
		expect((await logs('?status=failed&limit=100')).data.map((row: any) => row.workflow_run.id)).toContain(b.id);
		const again = await api(`/_standin/runs/${b.id}/end`, { json: { status: 'succeeded' } });
		expect(again.status).toBe(400);
	});

	it('created_at__after is an inclusive bound to the second, and paging keeps newest first', async () => {
		const second = 1_800_000_000;
		for (let n = 0; n < 5; n++) await standin.addRun({ createdAt: second - 1 + (n % 3) });
		const iso = new Date(second * 1000).toISOString();
		const after = await logs(`?created_at__after=${encodeURIComponent(iso)}&limit=2`);
		expect(after).toMatchObject({ total: 3, has_more: true });
		const next = await logs(`?created_at__after=${encodeURIComponent(iso)}&limit=2&page=2`);
		const times = [...after.data, ...next.data].map((row: any) => row.created_at);
		expect(times).toEqual([second + 1, second, second]);
		expect(next.has_more).toBe(false);
	});
});
