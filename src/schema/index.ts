// One file per GraphQL type or area registers on the builder; importing them here builds the schema.
import { builder } from './builder.js';
import './scalars.js';
import './service.js';
import './resource.js';
import './project.js';
import './sync.js';
import './balance.js';
import './cost-line.js';
import './invoice.js';
import './cost.js';
import './accrual.js';

export const schema = builder.toSchema({ sortSchema: true });
