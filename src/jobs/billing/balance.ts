// Balance: one cloud_balance_snapshots row per poll (hourly). Money goes to SQL as decimal strings.
import type { RunTrigger } from '../../domain/tasks.js';
import { withRun, type RunOutcome } from '../run.js';
import { requireApi, runEnvironment, type BillingContext } from './context.js';
import { normalizeDecimal } from '../../domain/decimal.js';
import { parseTimestamp } from './values.js';

/** The run, with the id of the snapshot it wrote (`value`). */
export type BalanceOutcome = RunOutcome<number>;

/** Money fields arrive as decimal strings ("23.44"); anything else is refused rather than guessed. */
function money(value: unknown, field: string): string {
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`balance: ${field} is missing`);
  try {
    return normalizeDecimal(String(value));
  } catch {
    throw new Error(`balance: ${field} "${String(value)}" is not a decimal amount`);
  }
}

export async function syncBalance(
  context: BillingContext,
  options: { trigger: RunTrigger; jobId?: string | null },
): Promise<BalanceOutcome> {
  const { pool, accountId } = context;
  return withRun(runEnvironment(context), { task: 'balance', ...options }, async (run) => {
    const balance = await requireApi(context).getBalance();
    run.counts.apiCalls = 1;
    const generatedAt = parseTimestamp(String(balance.generated_at ?? ''));
    if (!generatedAt) throw new Error('balance: generated_at is missing');
    const snapshotId = await insertSnapshot(pool, accountId, {
      monthToDateBalance: money(balance.month_to_date_balance, 'month_to_date_balance'),
      accountBalance: money(balance.account_balance, 'account_balance'),
      monthToDateUsage: money(balance.month_to_date_usage, 'month_to_date_usage'),
      generatedAt,
    });
    run.counts.listed = 1;
    run.counts.created = 1;
    run.details.snapshotId = snapshotId;
    return snapshotId;
  });
}

async function insertSnapshot(
  pool: BillingContext['pool'],
  accountId: string,
  snapshot: { monthToDateBalance: string; accountBalance: string; monthToDateUsage: string; generatedAt: Date },
): Promise<number> {
  const inserted = await pool.query<{ id: number }>(
    `INSERT INTO cloud_balance_snapshots (account_id, month_to_date_balance, account_balance, month_to_date_usage, generated_at)
     VALUES ($1, $2::numeric, $3::numeric, $4::numeric, $5) RETURNING id`,
    [accountId, snapshot.monthToDateBalance, snapshot.accountBalance, snapshot.monthToDateUsage, snapshot.generatedAt],
  );
  return inserted.rows[0]!.id;
}
