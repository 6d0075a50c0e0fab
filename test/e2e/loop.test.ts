// The whole loop end to end on the embedded defaults (in-process store, file log); see the scenario.
import { describeLoop, embedded } from './support/loop-scenario.ts';

describeLoop('the local loop', embedded);
