import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import type { DifyTransport } from '../../transport/request';
import type { DifyAppSite, OperationItem } from '../../types';

export const description: INodeProperties[] = updateDisplayOptions(
	{ show: { resource: ['app'], operation: ['getSite'] } },
	[],
);

/** GET /site: the app's web app settings (title, icon, description, language, ...). */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
): Promise<OperationItem[]> {
	const site = await transport.json<DifyAppSite>(itemIndex, {
		method: 'GET',
		path: '/site',
		hints: { forbidden: 'The app has no web app (site), or its workspace is archived. Enable the web app of this app in Dify.' },
	});
	return [{ json: site as IDataObject }];
}
