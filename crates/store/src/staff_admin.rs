//! Staff administration: the staff list per authority, changing a person's roles at
//! one authority, disabling an account (offboarding) and bringing it back through a
//! new invitation.
//!
//! The one rule every change here keeps: an authority never loses its last
//! administrator who can sign in. The check and the change run in one transaction,
//! serialised against every other staff change (PostgreSQL: an advisory lock;
//! SQLite has one writer), so two administrators removing each other at the same
//! moment cannot both succeed.

use crate::Result;
use crate::db::{Store, Tx};
use crate::staff::StaffUser;
use amtsweg_domain::staff::{Grant, Role};
use sea_query::{Expr, ExprTrait, Order, Query};

/// Serialises staff role changes and disabling (advisory lock namespace).
const STAFF_ADMIN_LOCK: i32 = 7_315_021;

/// The password hash of an account nobody can sign in to (no Argon2 hash starts so):
/// pending invitations and disabled accounts.
pub const UNUSABLE_PASSWORD: &str = "!";

/// One role as stored, with its row id (to remove or change exactly this one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGrant {
    pub id: i64,
    pub grant: Grant,
}

/// One person in the staff list.
#[derive(Debug, Clone)]
pub struct StaffListEntry {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    /// A second factor is set up.
    pub has_second_factor: bool,
    pub disabled: bool,
    /// The invitation is not accepted yet (no password set).
    pub invitation_pending: bool,
    /// Milliseconds; `None` when the person never signed in since this was recorded.
    pub last_login_at: Option<i64>,
    /// Every role of the person (of every authority; callers show what the reader may see).
    pub grants: Vec<StoredGrant>,
}

/// Why a staff change was refused; nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffChangeRefused {
    /// The change would leave this authority without an administrator who can sign in.
    LastAdministrator { authority_id: i64 },
    /// The account is disabled already.
    AlreadyDisabled,
}

#[derive(Debug, sqlx::FromRow)]
struct ListRow {
    id: i64,
    email: String,
    display_name: String,
    password_hash: String,
    totp_secret: Option<String>,
    disabled: bool,
    last_login_at: Option<i64>,
}

#[derive(Debug, sqlx::FromRow)]
struct RoleRow {
    id: i64,
    user_id: i64,
    role: String,
    authority_id: Option<i64>,
    org_unit_id: Option<i64>,
}

#[derive(Debug, sqlx::FromRow)]
struct CountRow {
    n: i64,
}

fn stored(r: RoleRow) -> Result<StoredGrant> {
    Ok(StoredGrant {
        id: r.id,
        grant: Grant { role: Role::parse(&r.role)?, authority_id: r.authority_id, org_unit_id: r.org_unit_id },
    })
}

fn role_query() -> sea_query::SelectStatement {
    Query::select()
        .columns(["id", "user_id", "role", "authority_id", "org_unit_id"])
        .from("staff_roles")
        .order_by("id", Order::Asc)
        .to_owned()
}

impl Store {
    /// Everyone with a role at `authority_id` (`None`: every staff account), by name,
    /// with all their roles.
    ///
    /// # Errors
    /// On database errors or an unknown stored role.
    pub async fn staff_list(&self, authority_id: Option<i64>) -> Result<Vec<StaffListEntry>> {
        let mut q = Query::select();
        q.columns(["id", "email", "display_name", "password_hash", "totp_secret", "disabled", "last_login_at"])
            .from("staff_users")
            .order_by("display_name", Order::Asc)
            .order_by("id", Order::Asc);
        if let Some(a) = authority_id {
            q.and_where(
                Expr::col("id").in_subquery(
                    Query::select()
                        .column("user_id")
                        .from("staff_roles")
                        .and_where(Expr::col("authority_id").eq(a))
                        .to_owned(),
                ),
            );
        }
        let people: Vec<ListRow> = self.fetch_all(&q).await?;
        let mut roles = role_query();
        roles.and_where(Expr::col("user_id").is_in(people.iter().map(|p| p.id)));
        let roles: Vec<RoleRow> = if people.is_empty() { Vec::new() } else { self.fetch_all(&roles).await? };
        let mut out = Vec::with_capacity(people.len());
        for p in people {
            let grants = roles.iter().filter(|r| r.user_id == p.id).map(|r| {
                Ok(StoredGrant {
                    id: r.id,
                    grant: Grant {
                        role: Role::parse(&r.role)?,
                        authority_id: r.authority_id,
                        org_unit_id: r.org_unit_id,
                    },
                })
            });
            out.push(StaffListEntry {
                id: p.id,
                invitation_pending: p.password_hash == UNUSABLE_PASSWORD && !p.disabled,
                email: p.email,
                display_name: p.display_name,
                has_second_factor: p.totp_secret.is_some(),
                disabled: p.disabled,
                last_login_at: p.last_login_at,
                grants: grants.collect::<Result<Vec<_>>>()?,
            });
        }
        Ok(out)
    }

    /// The roles of one person with their row ids.
    ///
    /// # Errors
    /// On database errors or an unknown stored role.
    pub async fn stored_grants_of(&self, user_id: i64) -> Result<Vec<StoredGrant>> {
        let mut q = role_query();
        q.and_where(Expr::col("user_id").eq(user_id));
        self.fetch_all::<RoleRow>(&q).await?.into_iter().map(stored).collect()
    }
}

impl Tx {
    /// Remembers a completed staff sign-in (for the staff list).
    ///
    /// # Errors
    /// On database errors.
    pub async fn record_staff_sign_in(&mut self, user_id: i64, at: i64) -> Result<()> {
        let q = Query::update()
            .table("staff_users")
            .value("last_login_at", at)
            .and_where(Expr::col("id").eq(user_id))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Administrators of `authority_id` who can sign in (enabled, password set),
    /// other than `except`.
    async fn other_admins(&mut self, authority_id: i64, except: i64) -> Result<i64> {
        let q = Query::select()
            .expr_as(Expr::col(("staff_roles", "user_id")).count(), "n")
            .from("staff_roles")
            .inner_join("staff_users", Expr::col(("staff_users", "id")).equals(("staff_roles", "user_id")))
            .and_where(Expr::col(("staff_roles", "role")).eq(Role::AuthorityAdmin.as_str()))
            .and_where(Expr::col(("staff_roles", "authority_id")).eq(authority_id))
            .and_where(Expr::col(("staff_roles", "user_id")).ne(except))
            .and_where(Expr::col(("staff_users", "disabled")).eq(false))
            .and_where(Expr::col(("staff_users", "password_hash")).ne(UNUSABLE_PASSWORD))
            .to_owned();
        Ok(self.fetch_optional_in_tx::<CountRow>(&q).await?.map_or(0, |r| r.n))
    }

    async fn grants_in_tx(&mut self, user_id: i64) -> Result<Vec<StoredGrant>> {
        let mut q = role_query();
        q.and_where(Expr::col("user_id").eq(user_id));
        self.fetch_all_in_tx::<RoleRow>(&q).await?.into_iter().map(stored).collect()
    }

    async fn user_in_tx(&mut self, user_id: i64) -> Result<Option<StaffUser>> {
        let q = Query::select()
            .columns(["id", "email", "display_name", "password_hash", "totp_secret", "password_changed_at", "disabled"])
            .from("staff_users")
            .and_where(Expr::col("id").eq(user_id))
            .to_owned();
        self.fetch_optional_in_tx(&q).await
    }

    /// Whether `user` counts as an administrator of `authority_id` right now.
    fn is_active_admin(user: &StaffUser, grants: &[StoredGrant], authority_id: i64) -> bool {
        !user.disabled
            && user.password_hash != UNUSABLE_PASSWORD
            && grants.iter().any(|g| g.grant.role == Role::AuthorityAdmin && g.grant.authority_id == Some(authority_id))
    }

    /// Replaces the person's roles at `authority_id` with `grants` (each of that
    /// authority; empty removes them all). Refused when it would take the last
    /// administrator from the authority. Roles at other authorities stay untouched.
    ///
    /// # Errors
    /// On database errors, or a grant of another authority.
    pub async fn set_roles_at(
        &mut self,
        user_id: i64,
        authority_id: i64,
        grants: &[Grant],
    ) -> Result<std::result::Result<(), StaffChangeRefused>> {
        if grants.iter().any(|g| g.authority_id != Some(authority_id) || g.role == Role::VerbundAdmin) {
            return Err(crate::StoreError::Invalid("roles are set for one authority at a time".into()));
        }
        self.lock_key(STAFF_ADMIN_LOCK, "staff").await?;
        let Some(user) = self.user_in_tx(user_id).await? else { return Ok(Ok(())) };
        let current = self.grants_in_tx(user_id).await?;
        let stays_admin = grants.iter().any(|g| g.role == Role::AuthorityAdmin);
        if Self::is_active_admin(&user, &current, authority_id)
            && !stays_admin
            && self.other_admins(authority_id, user_id).await? == 0
        {
            return Ok(Err(StaffChangeRefused::LastAdministrator { authority_id }));
        }
        let q = Query::delete()
            .from_table("staff_roles")
            .and_where(Expr::col("user_id").eq(user_id))
            .and_where(Expr::col("authority_id").eq(authority_id))
            .to_owned();
        self.execute(&q).await?;
        for g in grants {
            self.grant_role(user_id, g).await?;
        }
        Ok(Ok(()))
    }

    /// Disables an account: nobody can sign in to it any more (the password hash
    /// becomes unusable, the second factor and open links are dropped) and every
    /// session of it ends at once. Returns how many sessions ended. Roles stay
    /// recorded (the staff list shows who had which), but count for nothing while
    /// the account is disabled. Refused for the last administrator of an authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn disable_staff(&mut self, user_id: i64) -> Result<std::result::Result<u64, StaffChangeRefused>> {
        self.lock_key(STAFF_ADMIN_LOCK, "staff").await?;
        let Some(user) = self.user_in_tx(user_id).await? else { return Ok(Err(StaffChangeRefused::AlreadyDisabled)) };
        if user.disabled {
            return Ok(Err(StaffChangeRefused::AlreadyDisabled));
        }
        let grants = self.grants_in_tx(user_id).await?;
        let mut administered: Vec<i64> = grants
            .iter()
            .filter(|g| g.grant.role == Role::AuthorityAdmin)
            .filter_map(|g| g.grant.authority_id)
            .collect();
        administered.sort_unstable();
        administered.dedup();
        for a in administered {
            if Self::is_active_admin(&user, &grants, a) && self.other_admins(a, user_id).await? == 0 {
                return Ok(Err(StaffChangeRefused::LastAdministrator { authority_id: a }));
            }
        }
        let q = Query::update()
            .table("staff_users")
            .value("disabled", true)
            .value("password_hash", UNUSABLE_PASSWORD)
            .value("totp_secret", Option::<String>::None)
            .value("password_changed_at", crate::now_ms())
            .and_where(Expr::col("id").eq(user_id))
            .to_owned();
        self.execute(&q).await?;
        // An invitation or reset link sent before must not open the account again.
        let q = Query::delete().from_table("staff_tokens").and_where(Expr::col("user_id").eq(user_id)).to_owned();
        self.execute(&q).await?;
        Ok(Ok(self.delete_sessions_of("staff", user_id).await?))
    }

    /// Prepares a disabled account for a new invitation: its old roles go (the
    /// invitation grants what the inviter decides, nothing of before comes back).
    /// The account stays disabled until the invitation is accepted.
    ///
    /// # Errors
    /// On database errors.
    pub async fn reset_disabled_staff_roles(&mut self, user_id: i64) -> Result<()> {
        let q = Query::delete().from_table("staff_roles").and_where(Expr::col("user_id").eq(user_id)).to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Enables the account again (an accepted invitation).
    ///
    /// # Errors
    /// On database errors.
    pub async fn enable_staff(&mut self, user_id: i64) -> Result<()> {
        let q = Query::update()
            .table("staff_users")
            .value("disabled", false)
            .and_where(Expr::col("id").eq(user_id))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }
}
