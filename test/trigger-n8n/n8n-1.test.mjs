import { triggerSuite } from './suite.mjs';

triggerSuite(1);
