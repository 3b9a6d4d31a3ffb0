import { hitlSuite } from './suite.mjs';

hitlSuite(2);
