/** The text with every occurrence of the secret masked. */
export function maskSecret(text: string, secret: string, mask = '***'): string {
	return secret && text.includes(secret) ? text.split(secret).join(mask) : text;
}

/**
 * Removes a secret from text that leaves in pieces (live chunks to a streaming caller). A piece may
 * end with the start of the secret and the next piece carry its rest, so the longest end of what
 * was given that could still begin the secret is held back until the next piece decides it.
 */
export class StreamRedaction {
	private held = '';

	constructor(
		private readonly secret: string,
		private readonly mask = '***',
	) {}

	/** Takes the next piece; returns what can be sent now, with every whole secret masked. */
	push(piece: string): string {
		if (!this.secret) return piece;
		const text = this.held + piece;
		const masked = maskSecret(text, this.secret, this.mask);
		const keep = this.partialSecretAtEnd(masked);
		this.held = masked.slice(masked.length - keep);
		return masked.slice(0, masked.length - keep);
	}

	/** What was held back, once no further piece can complete the secret. */
	flush(): string {
		const rest = this.held;
		this.held = '';
		return rest;
	}

	/** The length of the longest end of `text` that is a proper beginning of the secret. */
	private partialSecretAtEnd(text: string): number {
		const longest = Math.min(this.secret.length - 1, text.length);
		for (let length = longest; length > 0; length--) {
			if (text.endsWith(this.secret.slice(0, length))) return length;
		}
		return 0;
	}
}
