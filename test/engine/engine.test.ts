import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { IDataObject, INode, INodeExecutionData } from 'n8n-workflow';

import { Echo, ECHO_TYPE, echoNode } from './nodes/Echo.node';
import type { EchoObserver, EchoResult } from './nodes/Echo.node';
import { EchoApi } from './nodes/EchoApi.credentials';
import { patternBytes, patternSha256, TEST_ITEMS_TYPE, TestItems, testItemsNode } from './nodes/TestItems.node';
import type { TestBinary } from './nodes/TestItems.node';
import { chain, disposeEngine, runWorkflow } from './run-workflow';
import type { EngineRunOptions } from './run-workflow';

const nodeTypes = { [TEST_ITEMS_TYPE]: new TestItems(), [ECHO_TYPE]: new Echo() };

function echoOf(item: INodeExecutionData): EchoResult {
	return item.json.echo as EchoResult;
}

async function itemsThroughEcho(
	items: IDataObject[],
	echo: Partial<INode> & { parameters?: INode['parameters'] },
	extra: Partial<EngineRunOptions> = {},
) {
	const { parameters, ...rest } = echo;
	return await runWorkflow({
		nodes: [testItemsNode('Items', items), echoNode('Echo', parameters, rest)],
		connections: chain('Items', 'Echo'),
		nodeTypes,
		...extra,
	});
}

describe('engine harness: parameters and expressions', () => {
	it('resolves expressions per item and fills parameter defaults', async () => {
		const result = await itemsThroughEcho([{ name: 'ada' }, { name: 'grace' }], {
			parameters: { message: '={{ $json.name.toUpperCase() }} #{{ $itemIndex }}' },
		});

		expect(result.status).toBe('success');
		expect(result.error).toBeUndefined();
		expect(result.executionOrder).toEqual(['Items', 'Echo']);
		expect(result.outputOf('Echo').map((item) => echoOf(item).message)).toEqual(['ADA #0', 'GRACE #1']);
		// Echo reads every parameter without a fallback, so the workflow's unset ones (fail,
		// binaryProperty, …) must have been filled from its description by n8n, or it would throw.
		expect(echoOf(result.outputOf('Echo')[0]).mode).toBe('manual');
	});

	it('follows pairedItem back through a node when an expression asks for $("Items").item', async () => {
		const result = await runWorkflow({
			nodes: [
				testItemsNode('Items', [{ id: 'first' }, { id: 'second' }, { id: 'third' }]),
				echoNode('A', { message: 'a' }),
				echoNode('B', { message: "={{ $('Items').item.json.id }} via {{ $('A').item.json.echo.message }}" }),
			],
			connections: chain('Items', 'A', 'B'),
			nodeTypes,
		});

		const items = result.outputOf('Items');
		expect(items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 0 }, { item: 0 }]);
		const b = result.outputOf('B');
		expect(b.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(b.map((item) => echoOf(item).message)).toEqual(['first via a', 'second via a', 'third via a']);
	});

	it('refuses a node type key that n8n would not produce', async () => {
		await expect(
			runWorkflow({
				nodes: [testItemsNode('Items', [{}])],
				connections: {},
				nodeTypes: { 'test.wrongName': new TestItems() },
			}),
		).rejects.toThrow('does not end with its description name "items"');
	});
});

describe('engine harness: errors', () => {
	const input = [{ n: 1 }, { n: 2, fail: true }, { n: 3 }];
	const failing = { message: '=item {{ $json.n }}', fail: '={{ $json.fail === true }}' };

	it.each([
		['onError continueRegularOutput', { onError: 'continueRegularOutput' as const }],
		['legacy continueOnFail', { continueOnFail: true }],
	])('%s turns the failed item into an error item and the others go on', async (_label, settings) => {
		const result = await runWorkflow({
			nodes: [testItemsNode('Items', input), echoNode('Echo', failing, settings), echoNode('After', { message: 'after' })],
			connections: chain('Items', 'Echo', 'After'),
			nodeTypes,
		});

		expect(result.status).toBe('success');
		const output = result.outputOf('Echo');
		expect(output).toHaveLength(3);
		expect(output[1].json).toEqual({ error: 'Echo was told to fail: item 2' });
		expect(output[1].pairedItem).toEqual({ item: 1 });
		expect([echoOf(output[0]).message, echoOf(output[2]).message]).toEqual(['item 1', 'item 3']);
		expect(result.outputOf('After')).toHaveLength(3);
	});

	// What the engine does by itself when a node throws although Continue is set: the node's input
	// items go on unchanged, and the error is only in the node's run data.
	it('onError continueRegularOutput on a node that throws passes its input through', async () => {
		const result = await runWorkflow({
			nodes: [
				testItemsNode('Items', input),
				echoNode('Echo', { ...failing, onFailure: 'throw' }, { onError: 'continueRegularOutput' }),
				echoNode('After', { message: 'after' }),
			],
			connections: chain('Items', 'Echo', 'After'),
			nodeTypes,
		});

		expect(result.status).toBe('success');
		expect(result.errorOf('Echo')?.message).toBe('Echo was told to fail: item 2');
		expect(result.outputOf('Echo').map((item) => item.json)).toEqual(input);
		expect(result.outputOf('After')).toHaveLength(3);
	});

	it('without onError the node error fails the execution', async () => {
		const result = await runWorkflow({
			nodes: [testItemsNode('Items', input), echoNode('Echo', failing), echoNode('After', { message: 'after' })],
			connections: chain('Items', 'Echo', 'After'),
			nodeTypes,
		});

		expect(result.status).toBe('error');
		expect(result.error?.message).toBe('Echo was told to fail: item 2');
		expect(result.error?.name).toBe('NodeOperationError');
		expect(result.errorOf('Echo')?.message).toBe('Echo was told to fail: item 2');
		expect(() => result.outputOf('Echo')).toThrow('Node "Echo" failed: Echo was told to fail: item 2');
		expect(result.runData.After).toBeUndefined();
	});

	// n8n routes an item to the error output only if item.error is set, or json holds nothing but
	// error / message / details: an error item with more fields stays on the success output.
	it.each([
		['standard', 'error output'],
		['withFields', 'success output'],
		['withFieldsAndItemError', 'error output'],
	])('onError continueErrorOutput sends a %s error item to the %s', async (errorItem, expected) => {
		const result = await runWorkflow({
			nodes: [
				testItemsNode('Items', input),
				echoNode('Echo', { ...failing, errorItem }, { onError: 'continueErrorOutput' }),
				echoNode('Ok', { message: 'ok' }),
				echoNode('Failed', { message: 'failed' }),
			],
			connections: {
				...chain('Items', 'Echo'),
				Echo: {
					main: [[{ node: 'Ok', type: 'main', index: 0 }], [{ node: 'Failed', type: 'main', index: 0 }]],
				},
			},
			nodeTypes,
		});

		expect(result.status).toBe('success');
		const success = result.outputOf('Echo', 0);
		const errors = result.outputOf('Echo', 1);
		const failedItem = expected === 'error output' ? errors : success.filter((item) => item.json.error);
		expect(failedItem).toHaveLength(1);
		expect(failedItem[0].json.error).toBe('Echo was told to fail: item 2');
		expect(success.filter((item) => !item.json.error).map((item) => echoOf(item).message)).toEqual(['item 1', 'item 3']);
		expect(errors).toHaveLength(expected === 'error output' ? 1 : 0);
		if (expected === 'error output') expect(result.outputOf('Failed')).toHaveLength(1);
		else expect(result.runData.Failed).toBeUndefined();
	});
});

describe('engine harness: credentials', () => {
	const credentialTypes = { echoApi: new EchoApi() };
	const withCredential = (id: string, parameters: IDataObject = {}) => ({
		parameters: { message: 'm', useCredentials: true, ...parameters },
		credentials: { echoApi: { id, name: 'Echo account' } },
	});

	it('gives the node its decrypted credential with the type defaults filled in', async () => {
		const result = await itemsThroughEcho([{}], withCredential('cred-1'), {
			credentialTypes,
			credentials: { echoApi: { 'cred-1': { token: 't0ken' } } },
		});

		expect(result.status).toBe('success');
		expect(echoOf(result.outputOf('Echo')[0]).credentials).toEqual({ user: 'echo-user', token: 't0ken' });
	});

	it("applies the credential type's authenticate to a request made with authentication", async () => {
		const server = createServer((request, response) => {
			response.setHeader('content-type', 'application/json');
			response.end(JSON.stringify({ token: request.headers['x-echo-token'], user: request.headers['x-echo-user'] }));
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		try {
			const { port } = server.address() as AddressInfo;
			const result = await itemsThroughEcho([{}], withCredential('cred-1', { requestUrl: `http://127.0.0.1:${port}/who` }), {
				credentialTypes,
				credentials: { echoApi: { 'cred-1': { user: 'ada', token: 't0ken' } } },
			});

			expect(result.error).toBeUndefined();
			expect(echoOf(result.outputOf('Echo')[0]).response).toEqual({ token: 't0ken', user: 'ada' });
		} finally {
			await new Promise((resolve) => server.close(resolve));
		}
	});

	it('fails the node, as n8n does, when the credential does not exist', async () => {
		const result = await itemsThroughEcho([{}], withCredential('missing'), {
			credentialTypes,
			credentials: { echoApi: { 'cred-1': { token: 't0ken' } } },
		});

		expect(result.status).toBe('error');
		expect(result.errorOf('Echo')?.message).toBe('Credential with ID "missing" does not exist for type "echoApi".');
	});
});

describe('engine harness: binary data', () => {
	const text = 'héllo, binary ✓';
	const binaries: TestBinary[] = [
		{ property: 'note', fileName: 'note.txt', mimeType: 'text/plain', text },
		{ property: 'big', fileName: 'big.bin', sizeBytes: 3 * 1024 * 1024 + 17 },
	];
	const run = async (binaryMode: 'default' | 'filesystem', echoProperty: string) =>
		await runWorkflow({
			nodes: [testItemsNode('Items', [{ k: 1 }], binaries), echoNode('Echo', { message: 'm', binaryProperty: echoProperty })],
			connections: chain('Items', 'Echo'),
			nodeTypes,
			binaryMode,
		});

	it('default mode keeps the data base64 in the item, read back as a buffer', async () => {
		const result = await run('default', 'note');

		const [item] = result.outputOf('Echo');
		const note = item.binary?.note;
		expect(note?.id).toBeUndefined();
		expect(Buffer.from(note?.data ?? '', 'base64').toString('utf8')).toBe(text);
		expect(note).toMatchObject({ fileName: 'note.txt', mimeType: 'text/plain', bytes: Buffer.byteLength(text) });
		expect(echoOf(item).binary).toMatchObject({ streamed: false, text, bytes: Buffer.byteLength(text) });
		expect((await result.binaryBuffer(item, 'note')).toString('utf8')).toBe(text);
		expect(result.binaryFilePath(item, 'note')).toBeUndefined();
		expect((await result.binaryBuffer(item, 'big')).equals(patternBytes(3 * 1024 * 1024 + 17))).toBe(true);
	});

	it('filesystem mode writes the data to disk, and the node streams it from there', async () => {
		const size = 3 * 1024 * 1024 + 17;
		const result = await run('filesystem', 'big');

		const [item] = result.outputOf('Echo');
		const big = item.binary?.big;
		expect(big?.id).toMatch(/^filesystem-v2:/);
		expect(big?.data).toBe('filesystem-v2');
		expect(big?.bytes).toBe(size);
		const path = result.binaryFilePath(item, 'big') as string;
		expect(existsSync(path)).toBe(true);
		expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(patternSha256(size));

		const echo = echoOf(item).binary;
		expect(echo).toMatchObject({ streamed: true, bytes: size, sha256: patternSha256(size) });
		expect(echo?.chunks).toBeGreaterThan(1);
		expect((await result.binaryBuffer(item, 'note')).toString('utf8')).toBe(text);
		expect(readFileSync(result.binaryFilePath(item, 'note') as string, 'utf8')).toBe(text);
	});
});

describe('engine harness: stopping', () => {
	it('aborting the signal stops the execution and fires getExecutionCancelSignal() in the node', async () => {
		const controller = new AbortController();
		const observer: EchoObserver = { waiting: () => controller.abort(), signals: [] };
		const started = Date.now();
		const result = await runWorkflow({
			nodes: [testItemsNode('Items', [{}]), echoNode('Echo', { waitForAbortMs: 20_000 }), echoNode('After', {})],
			connections: chain('Items', 'Echo', 'After'),
			nodeTypes: { ...nodeTypes, [ECHO_TYPE]: new Echo(observer) },
			signal: controller.signal,
		});

		expect(Date.now() - started).toBeLessThan(10_000);
		expect(observer.signals).toHaveLength(1);
		expect(observer.signals?.[0].signal).toBeInstanceOf(AbortSignal);
		expect(observer.signals?.[0].abortedAfterWait).toBe(true);
		expect(result.status).toBe('canceled');
		expect(result.runData.After).toBeUndefined();
	});

	it('the signal is there but quiet when nobody stops the execution', async () => {
		const observer: EchoObserver = { signals: [] };
		const result = await runWorkflow({
			nodes: [testItemsNode('Items', [{}]), echoNode('Echo', { waitForAbortMs: 5 })],
			connections: chain('Items', 'Echo'),
			nodeTypes: { ...nodeTypes, [ECHO_TYPE]: new Echo(observer) },
		});

		expect(result.status).toBe('success');
		expect(observer.signals?.[0]).toMatchObject({ abortedAfterWait: false });
		expect(observer.signals?.[0].signal).toBeInstanceOf(AbortSignal);
		expect(echoOf(result.outputOf('Echo')[0]).aborted).toBe(false);
	});
});

describe('engine harness: clean-up', () => {
	it('disposeEngine removes the binary files, and the next run sets n8n-core up afresh', async () => {
		const runOnce = async () =>
			await runWorkflow({
				nodes: [testItemsNode('Items', [{}], [{ text: 'kept until disposed', mimeType: 'text/plain' }])],
				connections: {},
				nodeTypes,
				binaryMode: 'filesystem',
			});
		const first = await runOnce();
		const firstPath = first.binaryFilePath(first.outputOf('Items')[0]) as string;
		expect(existsSync(firstPath)).toBe(true);

		await disposeEngine();
		expect(existsSync(firstPath)).toBe(false);

		const second = await runOnce();
		const [item] = second.outputOf('Items');
		expect((await second.binaryBuffer(item)).toString('utf8')).toBe('kept until disposed');
		expect(second.binaryFilePath(item)).not.toBe(firstPath);
	});
});
