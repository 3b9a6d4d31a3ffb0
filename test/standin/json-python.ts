/**
 * Renders values the way Dify's Python code prints them. Dify's non-streamed JSON bodies come from
 * `json.dumps` with its defaults (", " and ": " separators, everything outside printable ASCII
 * escaped as \uXXXX), and its pydantic error messages embed Python `repr()` text. Reproducing the
 * bytes lets clients be tested against what Dify really sends, not against Node's JSON.stringify.
 */

// Python's encoder escapes everything outside ' '..'~'; JS strings are UTF-16, so an astral
// character arrives here as two code units and comes out as a surrogate pair, as Python does.
const NEEDS_ESCAPE = /[\\"\u0000-\u001f\u007f-\uffff]/g;

const SHORT_ESCAPES: Record<string, string> = {
	'\\': '\\\\',
	'"': '\\"',
	'\b': '\\b',
	'\f': '\\f',
	'\n': '\\n',
	'\r': '\\r',
	'\t': '\\t',
};

function hex4(codeUnit: number): string {
	return codeUnit.toString(16).padStart(4, '0');
}

function pythonJsonString(text: string): string {
	return `"${text.replace(NEEDS_ESCAPE, (ch) => SHORT_ESCAPES[ch] ?? `\\u${hex4(ch.charCodeAt(0))}`)}"`;
}

/**
 * Python's `repr(float)`: the shortest round-trip digits, positional for exponents -4..15,
 * scientific otherwise with a signed exponent of at least two digits (`1e-06`, `1.5e+16`).
 * JS numbers carry no int/float distinction: integral values below 1e16 print as Python ints,
 * larger ones (beyond exact integers anyway) as floats.
 */
export function pythonNumber(value: number): string {
	if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
	if (Number.isInteger(value) && Math.abs(value) < 1e16) return String(value);
	const [mantissa, exponentText] = Math.abs(value).toExponential().split('e');
	const exponent = Number(exponentText);
	const digits = mantissa.replace('.', '');
	const sign = value < 0 ? '-' : '';
	if (exponent < -4 || exponent >= 16) {
		const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
		const expSign = exponent < 0 ? '-' : '+';
		return `${sign}${digits[0]}${fraction}e${expSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
	}
	if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
	const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
	return `${sign}${whole}.${digits.slice(exponent + 1) || '0'}`;
}

function hasToJson(value: object): value is { toJSON(): unknown } {
	return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

/** `json.dumps(value)` with Python's defaults. Undefined members are left out, as JSON.stringify does. */
export function pythonJsonDumps(value: unknown): string {
	if (value === null || value === undefined) return 'null';
	switch (typeof value) {
		case 'boolean':
			return value ? 'true' : 'false';
		case 'number':
			return pythonNumber(value);
		case 'bigint':
			return value.toString();
		case 'string':
			return pythonJsonString(value);
		case 'object':
			break;
		default:
			return 'null';
	}
	if (hasToJson(value)) return pythonJsonDumps(value.toJSON());
	if (Array.isArray(value)) return `[${value.map((item) => pythonJsonDumps(item)).join(', ')}]`;
	const members: string[] = [];
	for (const [key, member] of Object.entries(value)) {
		if (member === undefined || typeof member === 'function') continue;
		members.push(`${pythonJsonString(key)}: ${pythonJsonDumps(member)}`);
	}
	return `{${members.join(', ')}}`;
}

function pythonReprString(text: string): string {
	const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
	let out = '';
	for (const ch of text) {
		const code = ch.codePointAt(0) ?? 0;
		if (ch === '\\' || ch === quote) out += `\\${ch}`;
		else if (ch === '\n') out += '\\n';
		else if (ch === '\r') out += '\\r';
		else if (ch === '\t') out += '\\t';
		else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
		else out += ch;
	}
	return `${quote}${out}${quote}`;
}

/** Python's `repr()` of a JSON-like value, as pydantic quotes the input in its error messages. */
export function pythonRepr(value: unknown): string {
	if (value === null || value === undefined) return 'None';
	if (typeof value === 'boolean') return value ? 'True' : 'False';
	if (typeof value === 'number') return pythonNumber(value).replace(/^(-?)Infinity$/, '$1inf').replace('NaN', 'nan');
	if (typeof value === 'string') return pythonReprString(value);
	if (Array.isArray(value)) return `[${value.map((item) => pythonRepr(item)).join(', ')}]`;
	if (typeof value === 'object') {
		const members = Object.entries(value).map(([key, member]) => `${pythonReprString(key)}: ${pythonRepr(member)}`);
		return `{${members.join(', ')}}`;
	}
	return pythonReprString(String(value));
}

/** The Python type name pydantic shows as `input_type`. */
export function pythonTypeName(value: unknown): string {
	if (value === null || value === undefined) return 'NoneType';
	if (typeof value === 'boolean') return 'bool';
	if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
	if (typeof value === 'string') return 'str';
	if (Array.isArray(value)) return 'list';
	return 'dict';
}
