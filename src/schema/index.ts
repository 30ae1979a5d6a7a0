// One file per GraphQL area registers its types on the builder; importing them here builds the schema.
import { builder } from './builder.js';
import './service.js';

export const schema = builder.toSchema();
