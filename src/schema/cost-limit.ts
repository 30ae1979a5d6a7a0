// Query cost: an upper bound on the values a query can return, checked at validation (so over HTTP and
// WebSocket alike, and cached with the document). Every selected field counts 1; a connection's page size
// (first/last, a variable counting as the maximum page) multiplies what is selected beneath it, a plain
// object list a fixed factor. So `resources(first: 100) { edges { node { id project { name } } } }` costs
// about 600, while a page of 100 nested in a page of 100 costs tens of thousands and is refused.
//
// graphql-armor's cost-limit was tried first: its depth factor grows exponentially with nesting and it
// multiplies only literal `first` values, so an ordinary page of 100 with a nested project exceeded any
// limit that still stopped page-in-page queries, and `first: $n` escaped it.
import {
  GraphQLError,
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  isInterfaceType,
  isUnionType,
  Kind,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

export interface CostOptions {
  maxCost: number;
  /** Page size when first/last is absent (Pothos' defaultConnectionSize). */
  defaultPageSize: number;
  /** Largest page (Pothos' maxConnectionSize): a variable page size counts as this. */
  maxPageSize: number;
  /** Multiplier for a list of objects that has no page size. */
  listFactor: number;
}

export function costLimitRule(options: CostOptions): ValidationRule {
  return (context: ValidationContext) => {
    // Each fragment's cost, computed once per document: a fragment's type condition fixes its cost wherever it is
    // spread, so `...F2 ...F2` at every level of a chain costs one walk per fragment, not two to the power of levels.
    const fragmentCosts = new Map<string, number>();
    return {
      OperationDefinition(operation) {
        const root = operationRoot(context, operation.operation);
        if (!root) return;
        const cost = selectionCost(context, operation.selectionSet, root, fragmentCosts);
        if (cost > options.maxCost) {
          context.reportError(
            new GraphQLError(
              `Query cost ${Math.ceil(cost)} exceeds the limit of ${options.maxCost} (each field counts once per value it can return; page sizes multiply what is selected inside them): ask for smaller pages or fewer nested lists`,
              {
                nodes: [operation],
                extensions: { code: 'QUERY_TOO_COSTLY', cost: Math.ceil(cost), maxCost: options.maxCost },
              },
            ),
          );
        }
      },
    };
  };

  function selectionCost(
    context: ValidationContext,
    selectionSet: SelectionSetNode,
    parent: GraphQLNamedType,
    fragments: Map<string, number>,
  ): number {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        cost += fieldCost(context, selection, parent, fragments);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? context.getSchema().getType(selection.typeCondition.name.value) : parent;
        cost += selectionCost(context, selection.selectionSet, type ?? parent, fragments);
      } else {
        cost += fragmentCost(context, selection.name.value, parent, fragments);
      }
    }
    return cost;
  }

  function fragmentCost(
    context: ValidationContext,
    name: string,
    parent: GraphQLNamedType,
    fragments: Map<string, number>,
  ): number {
    const known = fragments.get(name);
    if (known !== undefined) return known;
    const fragment = context.getFragment(name);
    if (!fragment) return 0; // unknown fragments are reported by the standard rules
    // A fragment cycle is reported by the standard rules too; here a fragment spread inside itself counts 0.
    fragments.set(name, 0);
    const type = context.getSchema().getType(fragment.typeCondition.name.value) ?? parent;
    const cost = selectionCost(context, fragment.selectionSet, type, fragments);
    fragments.set(name, cost);
    return cost;
  }

  function fieldCost(
    context: ValidationContext,
    node: FieldNode,
    parent: GraphQLNamedType,
    fragments: Map<string, number>,
  ): number {
    // Introspection is switched on or off as a whole (GRAPHQL_INTROSPECTION); GraphiQL's own query stays cheap.
    if (!node.selectionSet || node.name.value.startsWith('__')) return 1;
    const field = fieldOf(parent, node.name.value);
    if (!field) return 1; // unknown fields are reported by the standard rules
    const named = getNamedType(field.type);
    return 1 + multiplier(node, field.type, parent) * selectionCost(context, node.selectionSet, named, fragments);
  }

  function multiplier(node: FieldNode, type: GraphQLOutputType, parent: GraphQLNamedType): number {
    // A connection's edges/nodes are its page, already counted by the connection field's page size.
    if (isConnection(parent)) return 1;
    const page = node.arguments?.find((arg) => arg.name.value === 'first' || arg.name.value === 'last');
    if (page) {
      if (page.value.kind === Kind.INT) return Math.min(Math.max(Number(page.value.value), 0), options.maxPageSize);
      return options.maxPageSize;
    }
    if (isConnection(getNamedType(type))) return options.defaultPageSize;
    return isListType(getNullableType(type)) ? options.listFactor : 1;
  }
}

function isConnection(type: GraphQLNamedType): boolean {
  return isObjectType(type) && type.name.endsWith('Connection') && 'edges' in type.getFields();
}

function operationRoot(
  context: ValidationContext,
  operation: 'query' | 'mutation' | 'subscription',
): GraphQLNamedType | null | undefined {
  const schema = context.getSchema();
  return operation === 'query'
    ? schema.getQueryType()
    : operation === 'mutation'
      ? schema.getMutationType()
      : schema.getSubscriptionType();
}

function fieldOf(parent: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined {
  if (isObjectType(parent) || isInterfaceType(parent)) return parent.getFields()[name];
  if (isUnionType(parent)) {
    for (const member of parent.getTypes()) {
      const field = member.getFields()[name];
      if (field) return field;
    }
  }
  return undefined;
}
