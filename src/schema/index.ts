// One file per GraphQL area registers its types on the builder; importing them here builds the schema.
import { builder } from './builder.js';
import './service.js';
import './resource.js';
import './project.js';
import './sync.js';
import './billing.js';

export const schema = builder.toSchema({ sortSchema: true });
