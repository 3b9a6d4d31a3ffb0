import { hitlSuite } from './suite.mjs';

hitlSuite(1);
