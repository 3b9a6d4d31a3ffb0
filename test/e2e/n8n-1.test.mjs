import { e2eSuite } from './suite.mjs';

e2eSuite(1);
