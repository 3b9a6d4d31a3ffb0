import { uiSuite } from './suite.mjs';

uiSuite(2);
