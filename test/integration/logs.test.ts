import type { IDataObject } from 'n8n-workflow';

import { startDifyStandin } from '../standin/server';
import { runDifyNode } from './dify-node';
import { standinPerFile } from './standin-per-file';

const standin = standinPerFile({ seedLogs: 45 });

const getLogs = (parameters: IDataObject) =>
	runDifyNode({
		parameters: { resource: 'workflow', operation: 'getLogs', ...parameters } as never,
		baseUrl: standin().url,
		apiKey: standin().apiKey,
	});

const logRequests = () => standin().requests.filter((r) => r.path === '/v1/workflows/logs');

describe('Workflow → Get Logs', () => {
	it('Return All pages through has_more and returns one item per entry', async () => {
		const result = await getLogs({ returnAll: true });
		expect(result.error).toBeUndefined();
		expect(result.items).toHaveLength(45);
		expect(new Set(result.items.map((item) => item.json.id)).size).toBe(45);
		expect(logRequests().map((r) => r.query)).toEqual([
			{ page: '1', limit: '100' },
		]);
		expect(result.items.every((item) => (item.pairedItem as { item: number }).item === 0)).toBe(true);
	});

	it('a Limit above one page takes several pages and stops at the limit', async () => {
		const result = await getLogs({ returnAll: false, limit: 30 });
		expect(result.items).toHaveLength(30);
		const many = await getLogs({ returnAll: false, limit: 150 });
		expect(many.items).toHaveLength(45);
	});

	it('pages through 100-entry pages', async () => {
		const big = await startDifyStandin({ seedLogs: 230 });
		try {
			const result = await runDifyNode({
				parameters: { resource: 'workflow', operation: 'getLogs', returnAll: true },
				baseUrl: big.url,
				apiKey: big.apiKey,
			});
			expect(result.items).toHaveLength(230);
			expect(big.requests.map((r) => r.query.page)).toEqual(['1', '2', '3']);
		} finally {
			await big.close();
		}
	});

	it('sends the filters under Dify\'s names, dates as UTC ISO-8601', async () => {
		await getLogs({
			returnAll: false,
			limit: 5,
			filters: {
				keyword: 'fuji',
				status: 'succeeded',
				createdAtAfter: '2026-01-01T00:00:00',
				createdAtBefore: '2026-02-01T09:30:00+09:00',
				createdByEndUserSessionId: 'user-42',
			},
		});
		expect(logRequests()[0].query).toEqual({
			keyword: 'fuji',
			status: 'succeeded',
			created_at__after: '2026-01-01T00:00:00.000Z',
			created_at__before: '2026-02-01T00:30:00.000Z',
			created_by_end_user_session_id: 'user-42',
			page: '1',
			limit: '5',
		});
	});

	it('refuses an invalid date before any request', async () => {
		const result = await getLogs({ returnAll: true, filters: { createdAtAfter: 'last tuesday' } });
		expect(result.error?.message).toBe('The Created After filter is not a valid date: "last tuesday"');
		expect(logRequests()).toHaveLength(0);
	});

	it('refuses a limit below 1 before any request', async () => {
		const result = await getLogs({ returnAll: false, limit: 0 });
		expect(result.error?.message).toMatch(/Limit parameter must be a whole number of at least 1/);
		expect(logRequests()).toHaveLength(0);
	});

	it("explains Dify's rejection of an unknown account", async () => {
		const result = await getLogs({ returnAll: true, filters: { createdByAccount: 'nobody@example.com' } });
		expect(result.error?.message).toMatch(/Account not found/);
		expect(result.error?.description).toMatch(/Created by Account/);
	});
});
