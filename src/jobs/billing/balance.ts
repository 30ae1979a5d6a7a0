// Balance: one cloud_balance_snapshots row per poll (hourly). Money goes to SQL as decimal strings.
import type { BillingContext } from './context.js';
import { requireApi } from './context.js';
import { normalizeDecimal } from './decimal.js';
import { errorMessage, finishRun, startRun, type RunTrigger } from './run.js';
import { parseTimestamp } from './values.js';

export interface BalanceOutcome {
  status: 'succeeded' | 'failed';
  runId: number;
  snapshotId?: number;
  error?: string;
}

/** Money fields arrive as decimal strings ("23.44"); anything else is refused rather than guessed. */
function money(value: unknown, field: string): string {
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`balance: ${field} is missing`);
  try {
    return normalizeDecimal(String(value));
  } catch {
    throw new Error(`balance: ${field} "${String(value)}" is not a decimal amount`);
  }
}

export async function syncBalance(context: BillingContext, options: { trigger: RunTrigger; jobId?: string | null }): Promise<BalanceOutcome> {
  const { pool, accountId } = context;
  const run = await startRun(pool, { accountId, task: 'balance', trigger: options.trigger, jobId: options.jobId ?? null, onEvent: context.onEvent });
  try {
    const balance = await requireApi(context).getBalance();
    run.counts.apiCalls = 1;
    const generatedAt = parseTimestamp(String(balance.generated_at ?? ''));
    if (!generatedAt) throw new Error('balance: generated_at is missing');
    const inserted = await pool.query<{ id: number }>(
      `INSERT INTO cloud_balance_snapshots (account_id, month_to_date_balance, account_balance, month_to_date_usage, generated_at)
       VALUES ($1, $2::numeric, $3::numeric, $4::numeric, $5) RETURNING id`,
      [
        accountId,
        money(balance.month_to_date_balance, 'month_to_date_balance'),
        money(balance.account_balance, 'account_balance'),
        money(balance.month_to_date_usage, 'month_to_date_usage'),
        generatedAt,
      ],
    );
    run.counts.listed = 1;
    run.counts.created = 1;
    const snapshotId = inserted.rows[0]!.id;
    run.details.snapshotId = snapshotId;
    await finishRun(pool, run, 'succeeded', undefined, context.logger);
    return { status: 'succeeded', runId: run.id, snapshotId };
  } catch (error) {
    const message = errorMessage(error, context.redact);
    await finishRun(pool, run, 'failed', message, context.logger);
    return { status: 'failed', runId: run.id, error: message };
  }
}
