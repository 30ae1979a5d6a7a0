// Money arithmetic lives in the domain layer (src/domain/decimal.ts), which the read path shares; billing's
// modules keep importing it from here.
export * from '../../domain/decimal.js';
