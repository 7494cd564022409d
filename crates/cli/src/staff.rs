//! Staff accounts from the command line and the demo's accounts.

use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::staff::{Grant, Role};
use amtsweg_store::Store;
use amtsweg_store::staff::NewStaff;
use amtsweg_store::staff_admin::StaffChangeRefused;
use anyhow::{Context, anyhow, bail};

/// One demo login, printed by `amtsweg demo`.
pub struct DemoLogin {
    pub email: &'static str,
    pub role: Role,
    pub authority: Option<&'static str>,
    /// Name of the org unit the role is limited to, if any.
    pub org_unit: Option<&'static str>,
    pub totp_secret: Option<&'static str>,
}

/// The password of every demo account (the demo is not for production data).
pub const DEMO_PASSWORD: &str = "Heidekamp-Demo-2026";

pub const DEMO_LOGINS: &[DemoLogin] = &[
    DemoLogin {
        email: "verbund-admin@landkreis-heidekamp.example",
        role: Role::VerbundAdmin,
        authority: None,
        org_unit: None,
        totp_secret: Some("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
    },
    DemoLogin {
        email: "admin@moorbrueck.example",
        role: Role::AuthorityAdmin,
        authority: Some("moorbrueck"),
        org_unit: None,
        totp_secret: Some("KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TF"),
    },
    DemoLogin {
        email: "redaktion@moorbrueck.example",
        role: Role::Editor,
        authority: Some("moorbrueck"),
        org_unit: None,
        totp_secret: None,
    },
    DemoLogin {
        email: "sachbearbeitung@moorbrueck.example",
        role: Role::CaseWorker,
        authority: Some("moorbrueck"),
        org_unit: None,
        totp_secret: None,
    },
    // Case access is never implied by the Verbund administration (each authority is its
    // own data controller): the county and the Samtgemeinde get case workers of their own
    // so a newcomer can try case work with applications to them too.
    DemoLogin {
        email: "sachbearbeitung@landkreis-heidekamp.example",
        role: Role::CaseWorker,
        authority: Some("landkreis-heidekamp"),
        org_unit: None,
        totp_secret: None,
    },
    DemoLogin {
        email: "sachbearbeitung@sg-heideland.example",
        role: Role::CaseWorker,
        authority: Some("sg-heideland"),
        org_unit: None,
        totp_secret: None,
    },
    DemoLogin {
        email: "standesamt@moorbrueck.example",
        role: Role::Editor,
        authority: Some("moorbrueck"),
        org_unit: Some("Standesamt"),
        totp_secret: None,
    },
];

async fn hash(password: &str) -> anyhow::Result<String> {
    let p = password.to_owned();
    Ok(tokio::task::spawn_blocking(move || password_auth::generate_hash(p)).await?)
}

/// Password rules for staff: at least 12 characters, not only spaces.
///
/// # Errors
/// With a message saying what is wrong.
pub fn check_password(p: &str) -> anyhow::Result<()> {
    if p.chars().count() < 12 || p.trim().is_empty() {
        bail!("das Passwort muss mindestens 12 Zeichen lang sein");
    }
    if p.chars().count() > 256 {
        bail!("das Passwort darf höchstens 256 Zeichen lang sein");
    }
    Ok(())
}

/// A staff account to create with one role.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
    pub role: Role,
    /// Slug of the authority (none only for the Verbund administrator).
    pub authority: Option<&'a str>,
    /// Name of an org unit of that authority the role is limited to.
    pub org_unit: Option<&'a str>,
    pub totp_secret: Option<&'a str>,
}

/// Creates a staff member with one role; every write is in the audit log.
///
/// # Errors
/// When the authority is unknown, the address is taken or the store fails.
pub async fn create(store: &Store, account: &NewAccount<'_>) -> anyhow::Result<i64> {
    let NewAccount { email, name, password, role, authority: authority_slug, org_unit, totp_secret } = *account;
    check_password(password)?;
    if !email.contains('@') || email.trim().len() < 3 {
        bail!("„{email}“ ist keine E-Mail-Adresse");
    }
    if store.staff_by_email(email).await?.is_some() {
        bail!("es gibt bereits ein Konto mit der Adresse {email}");
    }
    let authority_id = match authority_slug {
        Some(slug) => {
            Some(store.authority_by_slug(slug).await?.ok_or_else(|| anyhow!("unbekannte Behörde „{slug}“"))?.id)
        }
        None => None,
    };
    if role != Role::VerbundAdmin && authority_id.is_none() {
        bail!("für die Rolle {} muss eine Behörde angegeben werden (--authority)", role.label());
    }
    let org_unit_id = match (org_unit, authority_id) {
        (Some(name), Some(a)) => Some(
            store
                .org_units(a)
                .await?
                .into_iter()
                .find(|o| o.name == name)
                .ok_or_else(|| anyhow!("die Behörde hat keine Stelle „{name}“"))?
                .id,
        ),
        (Some(_), None) => bail!("eine Stelle gibt es nur zusammen mit einer Behörde"),
        _ => None,
    };
    let password_hash = hash(password).await?;
    let mut tx = store.begin().await?;
    let id = tx
        .insert_staff(&NewStaff {
            email: email.to_owned(),
            display_name: name.to_owned(),
            password_hash,
            totp_secret: totp_secret.map(str::to_owned),
        })
        .await
        .context("cannot store the account")?;
    tx.grant_role(id, &Grant { role, authority_id, org_unit_id }).await?;
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: "system:cli".into(),
        authority_id,
        action: "staff.create".into(),
        target: format!("staff:{id}"),
        outcome: "success".into(),
    })
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Disables a staff account (offboarding): every session ends at once, nobody can
/// sign in to it, open links stop working; audited as `system:cli`. Refused for the
/// last administrator of an authority. Returns how many sessions ended.
///
/// # Errors
/// When no account has the address, it is disabled already, it is the last
/// administrator of an authority (with how to add another), or the store fails.
pub async fn disable(store: &Store, email: &str) -> anyhow::Result<u64> {
    let user =
        store.staff_by_email(email).await?.ok_or_else(|| anyhow!("es gibt kein Konto mit der Adresse {email}"))?;
    let mut tx = store.begin().await?;
    let ended = match tx.disable_staff(user.id).await? {
        Ok(n) => n,
        Err(StaffChangeRefused::AlreadyDisabled) => bail!("das Konto {email} ist bereits deaktiviert"),
        Err(StaffChangeRefused::LastAdministrator { authority_id }) => {
            drop(tx);
            let slug = store
                .authorities()
                .await?
                .into_iter()
                .find(|a| a.id == authority_id)
                .map_or_else(|| authority_id.to_string(), |a| a.slug.as_str().to_owned());
            bail!(
                "{email} ist die letzte Administration der Behörde „{slug}“ und wird nicht deaktiviert. Legen Sie zuerst eine weitere an: amtsweg user create-admin --authority {slug} --email … --name … (oder laden Sie in der Verwaltung eine Person mit der Rolle „{}“ ein); danach geht es.",
                Role::AuthorityAdmin.label()
            )
        }
    };
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: "system:cli".into(),
        authority_id: None,
        action: "staff.disable".into(),
        target: format!("staff:{}", user.id),
        outcome: "success".into(),
    })
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// Seeds the demo accounts when no staff account exists yet. Returns whether it did.
///
/// # Errors
/// On store errors.
pub async fn seed_demo(store: &Store) -> anyhow::Result<bool> {
    if store.staff_count().await? > 0 {
        return Ok(false);
    }
    for d in DEMO_LOGINS {
        let name = match (d.role, d.org_unit) {
            (Role::VerbundAdmin, _) => "Vera Verbund (IT des Landkreises)",
            (Role::AuthorityAdmin, _) => "Adrian Admin (Stadt Moorbrück)",
            (Role::Editor, None) => "Rita Redaktion (Stadt Moorbrück)",
            (Role::Editor, Some(_)) => "Stefan Standesamt (Redaktion nur Standesamt, Moorbrück)",
            (Role::CaseWorker, _) => "Sam Sachbearbeitung (Stadt Moorbrück)",
        };
        let account = NewAccount {
            email: d.email,
            name,
            password: DEMO_PASSWORD,
            role: d.role,
            authority: d.authority,
            org_unit: d.org_unit,
            totp_secret: d.totp_secret,
        };
        create(store, &account).await?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert!(check_password("kurz").is_err());
        assert!(check_password("            ").is_err());
        assert!(check_password(DEMO_PASSWORD).is_ok());
    }
}
