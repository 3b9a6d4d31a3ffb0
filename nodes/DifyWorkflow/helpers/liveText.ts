import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { StreamRedaction } from '../transport/redaction';
import { runsAsTool } from './asTool';

export interface LiveTextOptions {
	/** Stream Text Of: the variables whose text_chunk text is forwarded; empty forwards all. */
	variables?: string;
	/** Stream Reasoning Too: forward reasoning_chunk text (Dify 1.15+) as well. */
	reasoning?: boolean;
	/** Keeps the API key out of what is sent, even when it arrives split across chunks. */
	redaction: StreamRedaction;
	/** Masks the API key in a failure's message. */
	redact: (text: string) => string;
}

/**
 * Forwards a run's text to n8n's streaming response (Webhook or Chat Trigger in Streaming mode),
 * as the options say and whichever the node's output: the options decide what a caller sees, not
 * whether the node also returns every event. Feature-detected: n8n before 1.103 has no
 * isStreaming(), and then nothing is forwarded.
 *
 * As a tool of the AI Agent the node runs inside the agent's turn, and the chat shows whatever is
 * streamed: Dify's text would land in the middle of the agent's own answer. There only the variables
 * Stream Text Of names are forwarded; left empty, nothing is.
 */
export class LiveText {
	private readonly variables: Set<string> | undefined;
	/** With Stream Text Of set, reasoning is forwarded only for the nodes it names (node_id.variable). */
	private readonly reasoningNodes: Set<string> | undefined;
	private readonly reasoningWanted: boolean;

	private constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly itemIndex: number,
		private readonly options: LiveTextOptions,
	) {
		const names = (options.variables ?? '')
			.split(',')
			.map((name) => name.trim())
			.filter(Boolean);
		this.variables = names.length > 0 ? new Set(names) : undefined;
		this.reasoningNodes =
			names.length > 0 ? new Set(names.filter((name) => name.includes('.')).map((name) => name.slice(0, name.indexOf('.')))) : undefined;
		this.reasoningWanted = options.reasoning === true && (this.reasoningNodes === undefined || this.reasoningNodes.size > 0);
	}

	/** Whether the execution streams its response, so that a run's text is worth sending on. */
	static wanted(ctx: IExecuteFunctions): boolean {
		return typeof ctx.isStreaming === 'function' && ctx.isStreaming();
	}

	/** The live text of one item, when the execution streams and the options forward any; begin() starts it. */
	static create(ctx: IExecuteFunctions, itemIndex: number, options: LiveTextOptions): LiveText | undefined {
		if (!LiveText.wanted(ctx)) return undefined;
		const live = new LiveText(ctx, itemIndex, options);
		return !live.variables && runsAsTool(ctx) ? undefined : live;
	}

	begin(): void {
		this.send('begin');
	}

	/** Whether an event of this name may carry text to forward: only those are worth parsing for it. */
	carries(name: string): boolean {
		return name === 'text_chunk' || (this.reasoningWanted && name === 'reasoning_chunk');
	}

	/** Forwards what a text_chunk or reasoning_chunk event holds, when the options ask for it. */
	forward(name: string, event: IDataObject): void {
		if (name === 'text_chunk') this.text(event);
		else if (name === 'reasoning_chunk' && this.reasoningWanted) this.reasoning(event);
	}

	end(): void {
		this.sendText(this.options.redaction.flush());
		this.send('end');
	}

	fail(message: string): void {
		this.sendText(this.options.redaction.flush());
		this.send('error', this.options.redact(message));
	}

	private text(event: IDataObject): void {
		const data = event.data as { text?: unknown; from_variable_selector?: unknown } | undefined;
		if (typeof data?.text !== 'string' || data.text === '') return;
		if (this.variables) {
			const selector = Array.isArray(data.from_variable_selector) ? data.from_variable_selector.map(String) : [];
			if (!this.variables.has(selector.join('.')) && !this.variables.has(selector.at(-1) ?? '')) return;
		}
		this.sendText(this.options.redaction.push(data.text));
	}

	private reasoning(event: IDataObject): void {
		const data = event.data as { reasoning?: unknown; node_id?: unknown } | undefined;
		if (typeof data?.reasoning !== 'string' || data.reasoning === '') return;
		if (this.reasoningNodes && !this.reasoningNodes.has(String(data.node_id))) return;
		this.sendText(this.options.redaction.push(data.reasoning));
	}

	private sendText(text: string): void {
		if (text !== '') this.send('item', text);
	}

	private send(type: 'begin' | 'item' | 'end' | 'error', content?: string): void {
		// Chunks are not awaited one by one: n8n keeps them in order, and a slow client must not slow the read.
		void Promise.resolve(this.ctx.sendChunk(type, this.itemIndex, content)).catch(() => {});
	}
}
