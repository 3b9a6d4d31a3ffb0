import { agentSuite } from './suite.mjs';

agentSuite(2);
