/**
 * Dify's form_content (Markdown, with `{{#$output.<name>#}}` where an input's value goes) as the
 * small HTML subset n8n's form pages keep (the `html` field is sanitized to headings, paragraphs,
 * lists, emphasis, code and links in both n8n 1.x and 2.x).
 */

const PLACEHOLDER = /\{\{#\$output\.([A-Za-z0-9_]+)#\}\}/g;

function escapeHtml(text: string): string {
	return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Inline Markdown of one escaped line: code, links, bold, italics. */
function inline(escaped: string): string {
	return escaped
		.replace(/`([^`]+)`/g, '<code>$1</code>')
		.replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" target="_blank" rel="noopener">$1</a>')
		.replace(/\*\*([^*]+)\*\*|__([^_]+)__/g, (_, a: string | undefined, b: string | undefined) => `<strong>${a ?? b}</strong>`)
		.replace(/(^|[^*\w])\*([^*\s][^*]*)\*(?!\*)|(^|\W)_([^_\s][^_]*)_(?!\w)/g, (_, p1: string | undefined, a: string | undefined, p2: string | undefined, b: string | undefined) =>
			`${p1 ?? p2 ?? ''}<em>${a ?? b}</em>`,
		);
}

/**
 * Renders form_content. A placeholder tells the person which field below takes that value,
 * by the label the field shows (`labelOf`), instead of Dify's variable syntax.
 */
export function formContentHtml(markdown: string, labelOf: (name: string) => string | undefined): string {
	const blocks: string[] = [];
	let paragraph: string[] = [];
	let list: { tag: 'ul' | 'ol'; items: string[] } | undefined;
	let code: string[] | undefined;
	const flushParagraph = () => {
		if (paragraph.length) blocks.push(`<p>${paragraph.join('<br>')}</p>`);
		paragraph = [];
	};
	const flushList = () => {
		if (list) blocks.push(`<${list.tag}>${list.items.map((item) => `<li>${item}</li>`).join('')}</${list.tag}>`);
		list = undefined;
	};
	const render = (line: string) =>
		inline(escapeHtml(line)).replace(/\{\{#\$output\.([A-Za-z0-9_]+)#\}\}/g, (whole, name: string) => {
			const label = labelOf(name);
			return label ? `<em>(your answer: “${escapeHtml(label)}” below)</em>` : '';
		});
	for (const raw of markdown.replace(/\r\n?/g, '\n').split('\n')) {
		if (code) {
			if (/^\s*```/.test(raw)) {
				blocks.push(`<pre><code>${code.map(escapeHtml).join('\n')}</code></pre>`);
				code = undefined;
			} else code.push(raw);
			continue;
		}
		if (/^\s*```/.test(raw)) {
			flushParagraph();
			flushList();
			code = [];
			continue;
		}
		const line = raw.trim();
		const heading = /^(#{1,6})\s+(.*)$/.exec(line);
		const bullet = /^[-*+]\s+(.*)$/.exec(line);
		const numbered = /^\d+[.)]\s+(.*)$/.exec(line);
		if (line === '' || /^(-{3,}|\*{3,}|_{3,})$/.test(line)) {
			flushParagraph();
			flushList();
		} else if (heading) {
			flushParagraph();
			flushList();
			// The page's own title is an h1; Dify's headings sit below it.
			const level = Math.min(heading[1].length + 1, 6);
			blocks.push(`<h${level}>${render(heading[2])}</h${level}>`);
		} else if (bullet || numbered) {
			flushParagraph();
			const tag = bullet ? 'ul' : 'ol';
			if (list?.tag !== tag) flushList();
			list ??= { tag, items: [] };
			list.items.push(render((bullet ?? numbered)![1]));
		} else {
			flushList();
			paragraph.push(render(line.replace(/^>\s?/, '')));
		}
	}
	if (code) blocks.push(`<pre><code>${code.map(escapeHtml).join('\n')}</code></pre>`);
	flushParagraph();
	flushList();
	return blocks.join('\n');
}

/**
 * form_content as plain text for a message body (e-mail text, chat): Markdown markers dropped,
 * placeholders pointing at the form's fields.
 */
export function formContentText(markdown: string, labelOf: (name: string) => string | undefined): string {
	return markdown
		.replace(/\r\n?/g, '\n')
		.replace(PLACEHOLDER, (_, name: string) => {
			const label = labelOf(name);
			return label ? `(your answer: “${label}” in the form)` : '';
		})
		.replace(/^\s*#{1,6}\s+/gm, '')
		.replace(/^\s*```.*$/gm, '')
		.replace(/\*\*([^*]+)\*\*|__([^_]+)__/g, (_, a: string | undefined, b: string | undefined) => a ?? b ?? '')
		.replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, '$1 ($2)')
		.replace(/`([^`]+)`/g, '$1')
		.replace(/\n{3,}/g, '\n\n')
		.trim();
}
