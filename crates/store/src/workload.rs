//! What waits in the back office: the counts its navigation shows on every page.
//! One query (one aggregate over the submissions in scope, with the unread replies
//! of citizens as a sub-select), so it stays cheap enough to run on every request.

use crate::Result;
use crate::db::Store;
use sea_query::{Cond, Expr, ExprTrait, Query};

/// The part of the applications a staff member works on: `(authority, None)` for a
/// whole authority, `(authority, Some(org_unit))` for one org unit of it.
pub type CaseScope = [(i64, Option<i64>)];

/// Counts of what waits for a staff member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Waiting {
    /// Applications in the first state ("eingegangen"): no one has started on them.
    pub received: i64,
    /// Open applications assigned to nobody.
    pub unassigned: i64,
    /// Replies of citizens to applications that no one of the authority has read.
    pub unread: i64,
}

/// States that end an application in the default workflow (as the inbox's "offen"),
/// and the payment's reserved states: an application waiting for payment (or
/// expired unpaid) is not the authority's work yet.
const CLOSED: [&str; 4] =
    ["abgeschlossen", "zurueckgezogen", crate::payments::AWAITING_PAYMENT, crate::payments::PAYMENT_EXPIRED];

fn in_scope(table: &str, scope: &CaseScope) -> Cond {
    scope.iter().fold(Cond::any(), |any, (authority, unit)| {
        let mut one = Cond::all().add(Expr::col((table.to_owned(), "authority_id")).eq(*authority));
        if let Some(unit) = unit {
            one = one.add(Expr::col((table.to_owned(), "org_unit_id")).eq(*unit));
        }
        any.add(one)
    })
}

/// `COUNT(CASE WHEN cond THEN 1 END)`: the rows that meet `cond`.
fn count_when(cond: Cond) -> Expr {
    let case: Expr = Expr::case(cond, 1).into();
    case.count()
}

impl Store {
    /// What waits among the applications in `scope` (see [`Waiting`]); all zero for
    /// an empty scope. `received` is the id of the workflow's first state.
    ///
    /// # Errors
    /// On database errors.
    pub async fn waiting(&self, scope: &CaseScope, received: &str) -> Result<Waiting> {
        if scope.is_empty() {
            return Ok(Waiting::default());
        }
        let unread = Query::select()
            .expr(Expr::col(("m", "id")).count())
            .from_as("postfach_messages", "m")
            .join_as(
                sea_query::JoinType::InnerJoin,
                "submissions",
                "r",
                Expr::col(("r", "thread_id")).equals(("m", "thread_id")),
            )
            .cond_where(in_scope("r", scope))
            .and_where(Expr::col(("m", "direction")).eq("from_citizen"))
            .and_where(Expr::col(("m", "read_at")).is_null())
            .to_owned();
        let q = Query::select()
            .expr_as(count_when(Expr::col(("s", "status")).eq(received).into()), "received")
            .expr_as(
                count_when(
                    Cond::all()
                        .add(Expr::col(("s", "assignee_id")).is_null())
                        .add(Expr::col(("s", "status")).is_not_in(CLOSED)),
                ),
                "unassigned",
            )
            .expr_as(Expr::SubQuery(None, Box::new(unread.into())), "unread")
            .from_as("submissions", "s")
            .cond_where(in_scope("s", scope))
            .to_owned();
        Ok(self.fetch_optional(&q).await?.unwrap_or_default())
    }
}
