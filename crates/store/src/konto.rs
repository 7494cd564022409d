//! Bürgerkonto storage: citizen accounts, linked identities, profile values with
//! their source, one-time links, single-sign-on codes and the Postfach. Every read
//! and write of personal data names the citizen it belongs to.

use crate::db::{Store, Tx};
use crate::outbox::{TokenProblem, Tokens};
use crate::{Result, StoreError, now_ms};
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::{ProfileField, ProfileSource};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Citizen {
    pub id: i64,
    pub email: Option<String>,
    pub email_verified: bool,
    #[serde(skip)]
    pub password_hash: Option<String>,
    #[serde(skip)]
    pub totp_secret: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
}

const CITIZEN_COLUMNS: [&str; 7] =
    ["id", "email", "email_verified", "password_hash", "totp_secret", "disabled", "created_at"];

/// One stored profile value.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProfileValue {
    pub field: String,
    pub value: String,
    pub source: String,
    pub trust_level: String,
    pub updated_at: i64,
}

impl ProfileValue {
    #[must_use]
    pub fn source(&self) -> ProfileSource {
        ProfileSource::parse(&self.source)
    }
}

/// An identity at an ID provider linked to an account.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LinkedIdentity {
    pub provider: String,
    pub subject: String,
    pub citizen_id: i64,
    pub trust_level: String,
    pub linked_at: i64,
    pub last_login_at: i64,
}

/// A Postfach thread with what the overview shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Thread {
    pub id: i64,
    pub citizen_id: i64,
    pub authority_id: i64,
    pub subject: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub thread_id: i64,
    pub direction: String,
    pub sender: String,
    pub body: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

impl Message {
    /// Written by the authority (as opposed to a reply of the citizen).
    #[must_use]
    pub fn is_to_citizen(&self) -> bool {
        self.direction == "to_citizen"
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Attachment {
    pub id: i64,
    pub message_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub object_key: String,
}

/// A file to attach, already stored in the object store.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub object_key: String,
}

/// Who writes a Postfach message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToCitizen,
    FromCitizen,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::ToCitizen => "to_citizen",
            Self::FromCitizen => "from_citizen",
        }
    }
}

#[derive(sqlx::FromRow)]
struct CountRow {
    n: i64,
}

/// What a single-sign-on code carries to another host.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SsoGrant {
    pub citizen_id: i64,
    pub trust_level: String,
    pub auth_method: String,
    pub host: String,
    pub expires_at: i64,
    /// SHA-256 of the member host's cookie that asked for the code.
    pub browser_hash: String,
}

impl Store {
    /// # Errors
    /// On database errors.
    pub async fn citizen_by_email(&self, email: &str) -> Result<Option<Citizen>> {
        let q = Query::select()
            .columns(CITIZEN_COLUMNS)
            .from("citizens")
            .and_where(Expr::col("email").eq(email.trim().to_lowercase()))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// # Errors
    /// On database errors.
    pub async fn citizen_by_id(&self, id: i64) -> Result<Option<Citizen>> {
        let q = Query::select().columns(CITIZEN_COLUMNS).from("citizens").and_where(Expr::col("id").eq(id)).to_owned();
        self.fetch_optional(&q).await
    }

    /// Checks a one-time link of `kind` and returns its citizen, without using it up.
    ///
    /// # Errors
    /// On database errors.
    pub async fn citizen_token(&self, token_hash: &str, kind: &str) -> Result<std::result::Result<i64, TokenProblem>> {
        self.token_owner(Tokens::Citizen, token_hash, kind).await
    }
    /// The citizen's profile values.
    ///
    /// # Errors
    /// On database errors.
    pub async fn profile(&self, citizen_id: i64) -> Result<Vec<ProfileValue>> {
        let q = Query::select()
            .columns(["field", "value", "source", "trust_level", "updated_at"])
            .from("citizen_profile")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The identity an ID provider vouches for, if linked to an account.
    ///
    /// # Errors
    /// On database errors.
    pub async fn identity(&self, provider: &str, subject: &str) -> Result<Option<LinkedIdentity>> {
        let q = Query::select()
            .columns(["provider", "subject", "citizen_id", "trust_level", "linked_at", "last_login_at"])
            .from("citizen_identities")
            .and_where(Expr::col("provider").eq(provider))
            .and_where(Expr::col("subject").eq(subject))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// Every identity linked to an account.
    ///
    /// # Errors
    /// On database errors.
    pub async fn identities_of(&self, citizen_id: i64) -> Result<Vec<LinkedIdentity>> {
        let q = Query::select()
            .columns(["provider", "subject", "citizen_id", "trust_level", "linked_at", "last_login_at"])
            .from("citizen_identities")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The citizen's threads, latest activity first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn threads(&self, citizen_id: i64) -> Result<Vec<Thread>> {
        let q = Query::select()
            .columns(["id", "citizen_id", "authority_id", "subject", "created_at", "updated_at"])
            .from("postfach_threads")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .order_by("updated_at", Order::Desc)
            .order_by("id", Order::Desc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// One thread of this citizen (`None` for anyone else's).
    ///
    /// # Errors
    /// On database errors.
    pub async fn thread(&self, citizen_id: i64, thread_id: i64) -> Result<Option<Thread>> {
        let q = Query::select()
            .columns(["id", "citizen_id", "authority_id", "subject", "created_at", "updated_at"])
            .from("postfach_threads")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("id").eq(thread_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The messages of one of the citizen's threads, oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn messages(&self, citizen_id: i64, thread_id: i64) -> Result<Vec<Message>> {
        let q = Query::select()
            .columns(["id", "thread_id", "direction", "sender", "body", "created_at", "read_at"])
            .from("postfach_messages")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("thread_id").eq(thread_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// Unread messages from authorities, per thread (thread id, count).
    ///
    /// # Errors
    /// On database errors.
    pub async fn unread_count(&self, citizen_id: i64) -> Result<i64> {
        let q = Query::select()
            .expr_as(Expr::col("id").count(), "n")
            .from("postfach_messages")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("direction").eq(Direction::ToCitizen.as_str()))
            .and_where(Expr::col("read_at").is_null())
            .to_owned();
        Ok(self.fetch_optional::<CountRow>(&q).await?.map_or(0, |r| r.n))
    }

    /// Attachments of the citizen's messages in a thread.
    ///
    /// # Errors
    /// On database errors.
    pub async fn attachments(&self, citizen_id: i64, thread_id: i64) -> Result<Vec<Attachment>> {
        let q = Query::select()
            .columns([
                ("postfach_attachments", "id"),
                ("postfach_attachments", "message_id"),
                ("postfach_attachments", "file_name"),
                ("postfach_attachments", "content_type"),
                ("postfach_attachments", "size"),
                ("postfach_attachments", "object_key"),
            ])
            .from("postfach_attachments")
            .inner_join(
                "postfach_messages",
                Expr::col(("postfach_messages", "id")).equals(("postfach_attachments", "message_id")),
            )
            .and_where(Expr::col(("postfach_attachments", "citizen_id")).eq(citizen_id))
            .and_where(Expr::col(("postfach_messages", "thread_id")).eq(thread_id))
            .order_by(("postfach_attachments", "id"), Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The authority of the thread a message of this citizen belongs to.
    ///
    /// # Errors
    /// On database errors.
    pub async fn thread_of_message(&self, citizen_id: i64, message_id: i64) -> Result<Option<i64>> {
        let q = Query::select()
            .expr_as(Expr::col(("postfach_threads", "authority_id")), "n")
            .from("postfach_messages")
            .inner_join(
                "postfach_threads",
                Expr::col(("postfach_threads", "id")).equals(("postfach_messages", "thread_id")),
            )
            .and_where(Expr::col(("postfach_messages", "citizen_id")).eq(citizen_id))
            .and_where(Expr::col(("postfach_messages", "id")).eq(message_id))
            .to_owned();
        Ok(self.fetch_optional::<CountRow>(&q).await?.map(|r| r.n))
    }

    /// One attachment of this citizen (`None` for anyone else's).
    ///
    /// # Errors
    /// On database errors.
    pub async fn attachment(&self, citizen_id: i64, attachment_id: i64) -> Result<Option<Attachment>> {
        let q = Query::select()
            .columns(["id", "message_id", "file_name", "content_type", "size", "object_key"])
            .from("postfach_attachments")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("id").eq(attachment_id))
            .to_owned();
        self.fetch_optional(&q).await
    }
}

impl Tx {
    /// Creates an account with a local password (e-mail not yet confirmed).
    /// Returns `None` when the address already has an account.
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_citizen(&mut self, email: &str, password_hash: &str) -> Result<Option<i64>> {
        let q = Query::select()
            .expr_as(Expr::col("id"), "n")
            .from("citizens")
            .and_where(Expr::col("email").eq(email))
            .to_owned();
        if self.fetch_optional_in_tx::<CountRow>(&q).await?.is_some() {
            return Ok(None);
        }
        let now = now_ms();
        let q = Query::insert()
            .into_table("citizens")
            .columns(["email", "email_verified", "password_hash", "password_changed_at", "created_at"])
            .values_panic([email.into(), false.into(), password_hash.into(), now.into(), now.into()])
            .returning_col("id")
            .to_owned();
        Ok(Some(self.insert_id(&q).await?))
    }

    /// Creates an account for a person who signed in at an ID provider for the first
    /// time, linked to that identity.
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_citizen_for_identity(
        &mut self,
        provider: &str,
        subject: &str,
        trust: TrustLevel,
    ) -> Result<i64> {
        let now = now_ms();
        let q = Query::insert()
            .into_table("citizens")
            .columns(["email_verified", "password_changed_at", "created_at"])
            .values_panic([false.into(), now.into(), now.into()])
            .returning_col("id")
            .to_owned();
        let id = self.insert_id(&q).await?;
        self.link_identity(id, provider, subject, trust).await?;
        Ok(id)
    }

    /// Links an identity to an account. An identity already linked to another
    /// account is refused (`false`): one person never gets two accounts by accident.
    ///
    /// # Errors
    /// On database errors.
    pub async fn link_identity(
        &mut self,
        citizen_id: i64,
        provider: &str,
        subject: &str,
        trust: TrustLevel,
    ) -> Result<bool> {
        let q = Query::select()
            .expr_as(Expr::col("citizen_id"), "n")
            .from("citizen_identities")
            .and_where(Expr::col("provider").eq(provider))
            .and_where(Expr::col("subject").eq(subject))
            .to_owned();
        let now = now_ms();
        match self.fetch_optional_in_tx::<CountRow>(&q).await? {
            Some(r) if r.n != citizen_id => Ok(false),
            Some(_) => {
                let q = Query::update()
                    .table("citizen_identities")
                    .value("trust_level", trust.as_str())
                    .value("last_login_at", now)
                    .and_where(Expr::col("provider").eq(provider))
                    .and_where(Expr::col("subject").eq(subject))
                    .to_owned();
                self.execute(&q).await?;
                Ok(true)
            }
            None => {
                let q = Query::insert()
                    .into_table("citizen_identities")
                    .columns(["provider", "subject", "citizen_id", "trust_level", "linked_at", "last_login_at"])
                    .values_panic([
                        provider.into(),
                        subject.into(),
                        citizen_id.into(),
                        trust.as_str().into(),
                        now.into(),
                        now.into(),
                    ])
                    .to_owned();
                self.execute(&q).await?;
                Ok(true)
            }
        }
    }

    /// # Errors
    /// On database errors.
    pub async fn mark_email_verified(&mut self, citizen_id: i64) -> Result<()> {
        let q = Query::update()
            .table("citizens")
            .value("email_verified", true)
            .and_where(Expr::col("id").eq(citizen_id))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// # Errors
    /// On database errors.
    pub async fn set_citizen_password(&mut self, citizen_id: i64, password_hash: &str) -> Result<()> {
        let q = Query::update()
            .table("citizens")
            .value("password_hash", password_hash)
            .value("password_changed_at", now_ms())
            .and_where(Expr::col("id").eq(citizen_id))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// # Errors
    /// On database errors.
    pub async fn set_citizen_totp(&mut self, citizen_id: i64, secret: Option<&str>) -> Result<()> {
        let q = Query::update()
            .table("citizens")
            .value("totp_secret", secret)
            .and_where(Expr::col("id").eq(citizen_id))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// # Errors
    /// On database errors.
    pub async fn insert_citizen_token(
        &mut self,
        token_hash: &str,
        kind: &str,
        citizen_id: i64,
        expires_at: i64,
    ) -> Result<()> {
        self.insert_token(Tokens::Citizen, token_hash, kind, citizen_id, expires_at).await
    }

    /// Uses up a one-time link; false when it was used, expired or unknown meanwhile.
    ///
    /// # Errors
    /// On database errors.
    pub async fn use_citizen_token(&mut self, token_hash: &str, kind: &str) -> Result<bool> {
        self.use_token(Tokens::Citizen, token_hash, kind).await
    }

    /// Stores one profile value. A citizen's own entry never overwrites a value an
    /// ID provider delivered (returns `false`); provider values replace anything.
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_profile_value(
        &mut self,
        citizen_id: i64,
        field: ProfileField,
        value: &str,
        source: &ProfileSource,
        trust: TrustLevel,
    ) -> Result<bool> {
        if !source.is_locked() {
            let q = Query::select()
                .columns(["field", "value", "source", "trust_level", "updated_at"])
                .from("citizen_profile")
                .and_where(Expr::col("citizen_id").eq(citizen_id))
                .and_where(Expr::col("field").eq(field.key()))
                .to_owned();
            if self.fetch_optional_in_tx::<ProfileValue>(&q).await?.is_some_and(|v| v.source().is_locked()) {
                return Ok(false);
            }
        }
        if value.is_empty() {
            let q = Query::delete()
                .from_table("citizen_profile")
                .and_where(Expr::col("citizen_id").eq(citizen_id))
                .and_where(Expr::col("field").eq(field.key()))
                .to_owned();
            self.execute(&q).await?;
            return Ok(true);
        }
        let q = Query::insert()
            .into_table("citizen_profile")
            .columns(["citizen_id", "field", "value", "source", "trust_level", "updated_at"])
            .values_panic([
                citizen_id.into(),
                field.key().into(),
                value.into(),
                source.as_str().into(),
                trust.as_str().into(),
                now_ms().into(),
            ])
            .on_conflict(
                OnConflict::columns(["citizen_id", "field"])
                    .update_columns(["value", "source", "trust_level", "updated_at"])
                    .to_owned(),
            )
            .to_owned();
        self.execute(&q).await?;
        Ok(true)
    }

    /// Issues a one-time single-sign-on code for `host` (stored as its hash).
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_sso_code(&mut self, code_hash: &str, grant: &SsoGrant) -> Result<()> {
        let q = Query::insert()
            .into_table("sso_codes")
            .columns(["code_hash", "citizen_id", "trust_level", "auth_method", "host", "expires_at", "browser_hash"])
            .values_panic([
                code_hash.into(),
                grant.citizen_id.into(),
                grant.trust_level.clone().into(),
                grant.auth_method.clone().into(),
                grant.host.clone().into(),
                grant.expires_at.into(),
                grant.browser_hash.clone().into(),
            ])
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Redeems a single-sign-on code for `host`: valid once, within its minute, on
    /// the host it was issued for.
    ///
    /// # Errors
    /// On database errors.
    pub async fn take_sso_code(&mut self, code_hash: &str, host: &str) -> Result<Option<SsoGrant>> {
        let q = Query::select()
            .columns(["citizen_id", "trust_level", "auth_method", "host", "expires_at", "browser_hash"])
            .from("sso_codes")
            .and_where(Expr::col("code_hash").eq(code_hash))
            .to_owned();
        let grant = self.fetch_optional_in_tx::<SsoGrant>(&q).await?;
        let q = Query::delete()
            .from_table("sso_codes")
            .and_where(Expr::col("code_hash").eq(code_hash).or(Expr::col("expires_at").lt(now_ms())))
            .to_owned();
        self.execute(&q).await?;
        Ok(grant.filter(|g| g.host == host && g.expires_at > now_ms()))
    }

    /// Posts a message into the citizen's Postfach: into `thread_id` (which must be
    /// this citizen's) or a new thread with `subject`. Returns (thread, message).
    ///
    /// # Errors
    /// On database errors, or a thread that is not this citizen's.
    #[allow(clippy::too_many_arguments)]
    pub async fn post_message(
        &mut self,
        citizen_id: i64,
        authority_id: i64,
        thread_id: Option<i64>,
        subject: &str,
        direction: Direction,
        sender: &str,
        body: &str,
        attachments: &[NewAttachment],
    ) -> Result<(i64, i64)> {
        let now = now_ms();
        let thread_id = match thread_id {
            Some(id) => {
                let q = Query::update()
                    .table("postfach_threads")
                    .value("updated_at", now)
                    .and_where(Expr::col("citizen_id").eq(citizen_id))
                    .and_where(Expr::col("id").eq(id))
                    .to_owned();
                if self.execute(&q).await? != 1 {
                    return Err(StoreError::Invalid(format!("thread {id} is not citizen {citizen_id}'s")));
                }
                id
            }
            None => {
                let q = Query::insert()
                    .into_table("postfach_threads")
                    .columns(["citizen_id", "authority_id", "subject", "created_at", "updated_at"])
                    .values_panic([
                        citizen_id.into(),
                        authority_id.into(),
                        subject.trim().into(),
                        now.into(),
                        now.into(),
                    ])
                    .returning_col("id")
                    .to_owned();
                self.insert_id(&q).await?
            }
        };
        let q = Query::insert()
            .into_table("postfach_messages")
            .columns(["thread_id", "citizen_id", "direction", "sender", "body", "created_at"])
            .values_panic([
                thread_id.into(),
                citizen_id.into(),
                direction.as_str().into(),
                sender.into(),
                body.into(),
                now.into(),
            ])
            .returning_col("id")
            .to_owned();
        let message_id = self.insert_id(&q).await?;
        for a in attachments {
            let q = Query::insert()
                .into_table("postfach_attachments")
                .columns(["message_id", "citizen_id", "file_name", "content_type", "size", "object_key", "created_at"])
                .values_panic([
                    message_id.into(),
                    citizen_id.into(),
                    a.file_name.clone().into(),
                    a.content_type.clone().into(),
                    a.size.into(),
                    a.object_key.clone().into(),
                    now.into(),
                ])
                .to_owned();
            self.execute(&q).await?;
        }
        Ok((thread_id, message_id))
    }

    /// Marks the authority's messages in one of the citizen's threads as read.
    ///
    /// # Errors
    /// On database errors.
    pub async fn mark_thread_read(&mut self, citizen_id: i64, thread_id: i64) -> Result<u64> {
        let q = Query::update()
            .table("postfach_messages")
            .value("read_at", now_ms())
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("thread_id").eq(thread_id))
            .and_where(Expr::col("direction").eq(Direction::ToCitizen.as_str()))
            .and_where(Expr::col("read_at").is_null())
            .to_owned();
        self.execute(&q).await
    }
}

/// A sign-in at an ID provider in flight.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuthRequest {
    pub id_hash: String,
    pub provider: String,
    pub browser_hash: String,
    pub nonce: String,
    pub verifier: String,
    pub return_to: String,
    pub link_citizen_id: Option<i64>,
    pub needed_trust: String,
    pub created_at: i64,
    pub expires_at: i64,
}

const AUTH_REQUEST_COLUMNS: [&str; 10] = [
    "id_hash",
    "provider",
    "browser_hash",
    "nonce",
    "verifier",
    "return_to",
    "link_citizen_id",
    "needed_trust",
    "created_at",
    "expires_at",
];

impl Tx {
    /// # Errors
    /// On database errors.
    pub async fn insert_auth_request(&mut self, r: &AuthRequest) -> Result<()> {
        let q = Query::insert()
            .into_table("auth_requests")
            .columns(AUTH_REQUEST_COLUMNS)
            .values_panic([
                r.id_hash.clone().into(),
                r.provider.clone().into(),
                r.browser_hash.clone().into(),
                r.nonce.clone().into(),
                r.verifier.clone().into(),
                r.return_to.clone().into(),
                r.link_citizen_id.into(),
                r.needed_trust.clone().into(),
                r.created_at.into(),
                r.expires_at.into(),
            ])
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Takes a sign-in in flight out (one-time): `None` when unknown, expired or
    /// already used. Expired requests are cleared on the way.
    ///
    /// # Errors
    /// On database errors.
    pub async fn take_auth_request(&mut self, id_hash: &str) -> Result<Option<AuthRequest>> {
        let q = Query::select()
            .columns(AUTH_REQUEST_COLUMNS)
            .from("auth_requests")
            .and_where(Expr::col("id_hash").eq(id_hash))
            .to_owned();
        let found = self.fetch_optional_in_tx::<AuthRequest>(&q).await?;
        let q = Query::delete()
            .from_table("auth_requests")
            .and_where(Expr::col("id_hash").eq(id_hash).or(Expr::col("expires_at").lt(now_ms())))
            .to_owned();
        self.execute(&q).await?;
        Ok(found.filter(|r| r.expires_at > now_ms()))
    }

    /// Remembers an assertion id until it expires; `false` when it was seen before
    /// (a replay).
    ///
    /// # Errors
    /// On database errors.
    pub async fn remember_assertion(&mut self, assertion_id: &str, expires_at: i64) -> Result<bool> {
        let q = Query::delete().from_table("saml_replay").and_where(Expr::col("expires_at").lt(now_ms())).to_owned();
        self.execute(&q).await?;
        let q = Query::insert()
            .into_table("saml_replay")
            .columns(["assertion_id", "expires_at"])
            .values_panic([assertion_id.into(), expires_at.into()])
            .on_conflict(OnConflict::column("assertion_id").do_nothing().to_owned())
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }
}

#[derive(sqlx::FromRow)]
struct WrappedRow {
    wrapped: String,
}

impl Store {
    /// The wrapped data key of a scope, if one exists.
    ///
    /// # Errors
    /// On database errors.
    pub async fn data_key(&self, scope: &str) -> Result<Option<String>> {
        let q = Query::select().column("wrapped").from("data_keys").and_where(Expr::col("scope").eq(scope)).to_owned();
        Ok(self.fetch_optional::<WrappedRow>(&q).await?.map(|r| r.wrapped))
    }
}

impl Tx {
    /// Every wrapped data key: (scope, wrapped), read inside this transaction so that
    /// a rotation sees and rewrites one consistent set.
    ///
    /// # Errors
    /// On database errors.
    pub async fn all_data_keys(&mut self) -> Result<Vec<(String, String)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            scope: String,
            wrapped: String,
        }
        let q = Query::select()
            .columns(["scope", "wrapped"])
            .from("data_keys")
            .order_by("scope", sea_query::Order::Asc)
            .to_owned();
        Ok(self.fetch_all_in_tx::<Row>(&q).await?.into_iter().map(|r| (r.scope, r.wrapped)).collect())
    }

    /// Replaces the wrapping of a data key (master-key rotation).
    ///
    /// # Errors
    /// On database errors.
    pub async fn rewrap_data_key(&mut self, scope: &str, wrapped: &str) -> Result<()> {
        let q = Query::update()
            .table("data_keys")
            .value("wrapped", wrapped)
            .and_where(Expr::col("scope").eq(scope))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }
}

impl Tx {
    /// Stores a wrapped data key unless the scope has one already (two nodes may race
    /// to create it; the first wins and both then use that one).
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_data_key(&mut self, scope: &str, wrapped: &str) -> Result<()> {
        let q = Query::insert()
            .into_table("data_keys")
            .columns(["scope", "wrapped", "created_at"])
            .values_panic([scope.into(), wrapped.into(), now_ms().into()])
            .on_conflict(OnConflict::column("scope").do_nothing().to_owned())
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }
}
