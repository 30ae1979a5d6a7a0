// GraphQL operations in the process's metrics and traces: one Yoga plugin that counts each operation by type and
// outcome, times it from the request's arrival (over WebSocket: from execution) to its result, and runs its
// execution inside a span named after the operation's type and name, so that the SQL statements it runs nest under
// it. Neither the metrics nor the span carry the document or the variables.
import { getOperationAST, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { graphqlDuration, graphqlRequests } from '../metrics.js';
import { markFailed, startSpan } from '../tracing.js';

type OperationType = 'query' | 'mutation' | 'subscription' | 'unknown';

function operationOf(document: DocumentNode, operationName?: string | null): { type: OperationType; name?: string } {
  const operation = getOperationAST(document, operationName);
  if (!operation) return { type: 'unknown' };
  return { type: operation.operation, ...(operation.name && { name: operation.name.value }) };
}

function hasErrors(result: unknown): boolean {
  return ((result as ExecutionResult | undefined)?.errors?.length ?? 0) > 0;
}

export function observabilityPlugin(): Plugin<object> {
  // When each HTTP request arrived, so that parse and validation count in the operation's duration.
  const arrivals = new WeakMap<Request, number>();
  const since = (context: unknown, fallback: number): number => {
    const request = (context as { request?: Request } | undefined)?.request;
    return (request && arrivals.get(request)) ?? fallback;
  };
  const record = (type: OperationType, failed: boolean, startedAt: number): void => {
    graphqlRequests.inc({ operation_type: type, outcome: failed ? 'error' : 'ok' });
    graphqlDuration.observe({ operation_type: type }, (performance.now() - startedAt) / 1000);
  };

  return {
    onRequest({ request }) {
      arrivals.set(request, performance.now());
    },
    onValidate({ context, params }) {
      const startedAt = since(context, performance.now());
      const document = params.documentAST as DocumentNode;
      return ({ valid }) => {
        if (!valid) record(operationOf(document).type, true, startedAt);
      };
    },
    onExecute(payload) {
      const args = payload.args as ExecutionArgs;
      const { executeFn } = payload;
      const execute = (executionArgs: ExecutionArgs): unknown => executeFn(executionArgs);
      const startedAt = since(args.contextValue, performance.now());
      const { type, name } = operationOf(args.document, args.operationName);
      const { span, run } = startSpan(name ? `graphql.${type} ${name}` : `graphql.${type}`, {
        'graphql.operation.type': type,
        ...(name !== undefined && { 'graphql.operation.name': name }),
      });
      payload.setExecuteFn((executionArgs: ExecutionArgs) => run(() => execute(executionArgs)));
      return {
        onExecuteDone({ result }) {
          // Incremental delivery is not enabled, so execution ends with one result.
          const failed = !isAsyncIterable(result) && hasErrors(result);
          if (failed) markFailed(span, 'errors in result');
          span.end();
          record(type, failed, startedAt);
        },
      };
    },
    onSubscribe(payload) {
      const args = payload.args as ExecutionArgs;
      const { subscribeFn } = payload;
      const subscribe = (subscribeArgs: ExecutionArgs): unknown => subscribeFn(subscribeArgs);
      const startedAt = since(args.contextValue, performance.now());
      const { name } = operationOf(args.document, args.operationName);
      const { span, run } = startSpan(name ? `graphql.subscription ${name}` : 'graphql.subscription', {
        'graphql.operation.type': 'subscription',
        ...(name !== undefined && { 'graphql.operation.name': name }),
      });
      payload.setSubscribeFn((subscribeArgs: ExecutionArgs) => run(() => subscribe(subscribeArgs)));
      // The set-up is the operation (the events that follow are counted by the event hub); once only, as a stream
      // that fails later reports its error after its result.
      let settled = false;
      const settle = (failed: boolean): void => {
        if (settled) return;
        settled = true;
        if (failed) markFailed(span, 'subscription failed');
        span.end();
        record('subscription', failed, startedAt);
      };
      return {
        onSubscribeResult: ({ result }) => settle(!isAsyncIterable(result) && hasErrors(result)),
        onSubscribeError: () => settle(true),
      };
    },
  };
}
