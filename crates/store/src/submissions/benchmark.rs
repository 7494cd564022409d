//! Placeholder submissions in bulk for the start-up benchmark, which needs a
//! database with a million of them. Not used by the portal itself.

use super::{STATUS_RECEIVED, receipt_number};
use crate::db::Tx;
use crate::{Result, now_ms};
use sea_query::Query;

impl Tx {
    /// Stores `count` placeholder submissions (sealed-looking data, numbers from
    /// `first`) for the start-up benchmark, which needs a database with a million of
    /// them; 1,000 rows per statement.
    ///
    /// # Errors
    /// On database errors.
    pub async fn fill_benchmark_submissions(
        &mut self,
        authority_id: i64,
        form_id: i64,
        first: i64,
        count: i64,
    ) -> Result<()> {
        let now = now_ms();
        let mut done = 0;
        while done < count {
            let n = Ord::min(count - done, 1000);
            let mut q = Query::insert()
                .into_table("submissions")
                .columns([
                    "authority_id",
                    "form_id",
                    "form_version",
                    "form_token",
                    "receipt_number",
                    "title",
                    "browser_hash",
                    "status",
                    "data",
                    "data_hash",
                    "submitted_at",
                    "status_at",
                ])
                .to_owned();
            for i in first + done..first + done + n {
                q.values_panic([
                    authority_id.into(),
                    form_id.into(),
                    1i64.into(),
                    format!("bench-{i}").into(),
                    receipt_number("BEN", 2026, i).into(),
                    "Briefwahlunterlagen".into(),
                    String::new().into(),
                    STATUS_RECEIVED.into(),
                    format!("v1:{}", "A".repeat(400)).into(),
                    "0".repeat(64).into(),
                    now.into(),
                    now.into(),
                ]);
            }
            self.execute(&q).await?;
            done += n;
        }
        Ok(())
    }
}
