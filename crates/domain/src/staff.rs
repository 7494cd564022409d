//! Staff roles and what they allow. Roles are granted per authority (optionally per
//! org unit); only the Verbund administrator's grant spans every authority — and it
//! spans the technical administration only, never the applications: each authority
//! is the data controller of its own applications, so reading them needs a grant of
//! that authority (case work or its administration).

use crate::InvalidValue;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// County IT: administers the whole Verbund (authorities, content, staff, audit
    /// log), but reads no applications without a grant of the authority.
    VerbundAdmin,
    /// Administers one authority: its staff, settings and content.
    AuthorityAdmin,
    /// Redakteur: maintains the authority's content.
    Editor,
    /// Sachbearbeiter: processes applications (inbox in a later release).
    CaseWorker,
}

impl Role {
    pub const ALL: [Self; 4] = [Self::VerbundAdmin, Self::AuthorityAdmin, Self::Editor, Self::CaseWorker];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerbundAdmin => "verbund_admin",
            Self::AuthorityAdmin => "authority_admin",
            Self::Editor => "editor",
            Self::CaseWorker => "case_worker",
        }
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::VerbundAdmin => "Verbund-Administration",
            Self::AuthorityAdmin => "Administration der Behörde",
            Self::Editor => "Redaktion",
            Self::CaseWorker => "Sachbearbeitung",
        }
    }

    /// # Errors
    /// When `s` names no role.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| InvalidValue(format!("Unbekannte Rolle „{s}“.")))
    }

    /// Administrators must use a second factor.
    #[must_use]
    pub fn requires_second_factor(self) -> bool {
        matches!(self, Self::VerbundAdmin | Self::AuthorityAdmin)
    }
}

/// One role granted to a staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub role: Role,
    /// `None` only for the Verbund administrator.
    pub authority_id: Option<i64>,
    pub org_unit_id: Option<i64>,
}

/// What a staff member may do, derived from their grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    grants: Vec<Grant>,
}

impl Permissions {
    #[must_use]
    pub fn new(grants: Vec<Grant>) -> Self {
        Self { grants }
    }

    #[must_use]
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    #[must_use]
    pub fn is_verbund_admin(&self) -> bool {
        self.grants.iter().any(|g| g.role == Role::VerbundAdmin)
    }

    fn has(&self, authority_id: i64, roles: &[Role]) -> bool {
        self.is_verbund_admin()
            || self.grants.iter().any(|g| g.authority_id == Some(authority_id) && roles.contains(&g.role))
    }

    /// May edit and publish the authority's content.
    #[must_use]
    pub fn can_edit_content(&self, authority_id: i64) -> bool {
        self.has(authority_id, &[Role::AuthorityAdmin, Role::Editor])
    }

    /// May edit content that belongs to `org_unit_id` of the authority. A grant for
    /// the whole authority covers every unit; a grant limited to one org unit covers
    /// that unit's content only (not content without a unit).
    #[must_use]
    pub fn can_edit_in_unit(&self, authority_id: i64, org_unit_id: Option<i64>) -> bool {
        self.is_verbund_admin()
            || self.grants.iter().any(|g| {
                g.authority_id == Some(authority_id)
                    && matches!(g.role, Role::AuthorityAdmin | Role::Editor)
                    && (g.org_unit_id.is_none() || g.org_unit_id == org_unit_id)
            })
    }

    /// May edit what belongs to the authority as a whole (locations, plain pages,
    /// new org units): needs a grant that is not limited to one org unit.
    #[must_use]
    pub fn can_edit_authority_wide(&self, authority_id: i64) -> bool {
        self.is_verbund_admin()
            || self.grants.iter().any(|g| {
                g.authority_id == Some(authority_id)
                    && matches!(g.role, Role::AuthorityAdmin | Role::Editor)
                    && g.org_unit_id.is_none()
            })
    }

    /// May administer the authority (staff, settings, audit log).
    #[must_use]
    pub fn can_administer(&self, authority_id: i64) -> bool {
        self.has(authority_id, &[Role::AuthorityAdmin])
    }

    /// May process the authority's applications of `org_unit_id` (case workers and
    /// authority administrators; a grant limited to one org unit covers that unit's
    /// applications only). The Verbund administrator's grant does not count here.
    #[must_use]
    pub fn can_work_cases(&self, authority_id: i64, org_unit_id: Option<i64>) -> bool {
        self.case_grants()
            .any(|g| g.authority_id == Some(authority_id) && (g.org_unit_id.is_none() || g.org_unit_id == org_unit_id))
    }

    /// May handle the authority's payments (overview, reconciliation, counter
    /// payments, refunds): case workers and administrators of the whole authority.
    /// Money is not split by org unit, so a grant limited to one unit does not cover it.
    #[must_use]
    pub fn can_handle_payments(&self, authority_id: i64) -> bool {
        self.can_work_cases(authority_id, None)
    }

    /// May work the appointment counter of one location of the authority: see its
    /// day lists (names and contact data), mark, cancel and book there. A case grant
    /// for the whole authority covers every location; a grant limited to an org unit
    /// covers the location of that unit only (a unit without a location covers none),
    /// so staff of one Bürgerbüro see only its bookings. `unit_locations` are the
    /// authority's org units with their locations, `(org unit id, location id)`.
    #[must_use]
    pub fn can_work_counter_at(
        &self,
        authority_id: i64,
        location_id: i64,
        unit_locations: &[(i64, Option<i64>)],
    ) -> bool {
        self.case_grants().filter(|g| g.authority_id == Some(authority_id)).any(|g| match g.org_unit_id {
            None => true,
            Some(unit) => unit_locations.iter().any(|&(u, l)| u == unit && l == Some(location_id)),
        })
    }

    /// The grants that open applications: case work or administration of one authority.
    fn case_grants(&self) -> impl Iterator<Item = &Grant> {
        self.grants.iter().filter(|g| matches!(g.role, Role::AuthorityAdmin | Role::CaseWorker))
    }

    /// The authorities whose applications this person may see at least in part
    /// (empty for someone without a case grant, the Verbund administrator included).
    #[must_use]
    pub fn case_authority_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.case_grants().filter_map(|g| g.authority_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Whether this person processes applications of any authority.
    #[must_use]
    pub fn works_cases(&self) -> bool {
        self.case_grants().any(|g| g.authority_id.is_some())
    }

    /// The (authority, org unit) pairs whose applications this person sees; `None`
    /// as the unit covers the whole authority.
    #[must_use]
    pub fn case_scope(&self) -> Vec<(i64, Option<i64>)> {
        let mut scope: Vec<(i64, Option<i64>)> =
            self.case_grants().filter_map(|g| g.authority_id.map(|a| (a, g.org_unit_id))).collect();
        scope.sort_unstable();
        scope.dedup();
        scope
    }

    /// May see the authority's back office at all.
    #[must_use]
    pub fn can_enter(&self, authority_id: i64) -> bool {
        self.has(authority_id, &Role::ALL)
    }

    /// Must sign in with a second factor.
    #[must_use]
    pub fn requires_second_factor(&self) -> bool {
        self.grants.iter().any(|g| g.role.requires_second_factor())
    }

    /// The authorities whose back office this person may enter (`None` = all).
    #[must_use]
    pub fn authority_ids(&self) -> Option<Vec<i64>> {
        if self.is_verbund_admin() {
            return None;
        }
        let mut ids: Vec<i64> = self.grants.iter().filter_map(|g| g.authority_id).collect();
        ids.sort_unstable();
        ids.dedup();
        Some(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(role: Role, a: Option<i64>) -> Grant {
        Grant { role, authority_id: a, org_unit_id: None }
    }

    #[test]
    fn roles_are_scoped_to_their_authority() {
        let editor = Permissions::new(vec![grant(Role::Editor, Some(2))]);
        assert!(editor.can_edit_content(2));
        assert!(!editor.can_edit_content(3));
        assert!(!editor.can_administer(2));
        assert!(!editor.requires_second_factor());
        let worker = Permissions::new(vec![grant(Role::CaseWorker, Some(2))]);
        assert!(worker.can_enter(2) && !worker.can_edit_content(2));
        let admin = Permissions::new(vec![grant(Role::AuthorityAdmin, Some(2))]);
        assert!(admin.can_administer(2) && admin.can_edit_content(2) && !admin.can_administer(1));
        assert!(admin.requires_second_factor());
        let verbund = Permissions::new(vec![grant(Role::VerbundAdmin, None)]);
        assert!(verbund.can_administer(99) && verbund.authority_ids().is_none());
    }

    #[test]
    fn org_unit_grants_cover_only_their_unit() {
        let unit = Permissions::new(vec![Grant { role: Role::Editor, authority_id: Some(2), org_unit_id: Some(7) }]);
        assert!(unit.can_edit_content(2), "may open the authority's editor");
        assert!(unit.can_edit_in_unit(2, Some(7)));
        assert!(!unit.can_edit_in_unit(2, Some(8)));
        assert!(!unit.can_edit_in_unit(2, None));
        assert!(!unit.can_edit_in_unit(3, Some(7)));
        assert!(!unit.can_edit_authority_wide(2));
        let whole = Permissions::new(vec![grant(Role::Editor, Some(2))]);
        assert!(
            whole.can_edit_in_unit(2, Some(8)) && whole.can_edit_in_unit(2, None) && whole.can_edit_authority_wide(2)
        );
        let worker = Permissions::new(vec![grant(Role::CaseWorker, Some(2))]);
        assert!(!worker.can_edit_in_unit(2, None));
    }

    #[test]
    fn case_work_follows_role_authority_and_unit() {
        let worker =
            Permissions::new(vec![Grant { role: Role::CaseWorker, authority_id: Some(2), org_unit_id: Some(7) }]);
        assert!(worker.can_work_cases(2, Some(7)));
        assert!(
            !worker.can_work_cases(2, Some(8)) && !worker.can_work_cases(2, None) && !worker.can_work_cases(3, Some(7))
        );
        assert_eq!(worker.case_authority_ids(), vec![2]);
        assert_eq!(worker.case_scope(), vec![(2, Some(7))]);
        let editor = Permissions::new(vec![grant(Role::Editor, Some(2))]);
        assert!(!editor.can_work_cases(2, None) && !editor.works_cases());
        assert!(editor.case_authority_ids().is_empty());
        let admin = Permissions::new(vec![grant(Role::AuthorityAdmin, Some(2))]);
        assert!(admin.can_work_cases(2, Some(9)));
    }

    #[test]
    fn payments_need_a_case_grant_for_the_whole_authority() {
        let unit =
            Permissions::new(vec![Grant { role: Role::CaseWorker, authority_id: Some(2), org_unit_id: Some(7) }]);
        assert!(!unit.can_handle_payments(2));
        let whole = Permissions::new(vec![grant(Role::CaseWorker, Some(2))]);
        assert!(whole.can_handle_payments(2) && !whole.can_handle_payments(3));
        assert!(Permissions::new(vec![grant(Role::AuthorityAdmin, Some(2))]).can_handle_payments(2));
        assert!(!Permissions::new(vec![grant(Role::Editor, Some(2))]).can_handle_payments(2));
        assert!(!Permissions::new(vec![grant(Role::VerbundAdmin, None)]).can_handle_payments(2));
    }

    #[test]
    fn the_verbund_administrator_reads_no_applications_without_a_grant() {
        let verbund = Permissions::new(vec![grant(Role::VerbundAdmin, None)]);
        assert!(verbund.can_administer(2) && verbund.can_enter(2), "technical administration stays");
        assert!(!verbund.can_work_cases(2, None) && !verbund.works_cases());
        assert!(verbund.case_authority_ids().is_empty() && verbund.case_scope().is_empty());
        let both = Permissions::new(vec![grant(Role::VerbundAdmin, None), grant(Role::CaseWorker, Some(2))]);
        assert!(both.can_work_cases(2, None) && !both.can_work_cases(3, None));
        assert_eq!(both.case_authority_ids(), vec![2]);
    }

    #[test]
    fn the_counter_of_a_location_follows_the_org_unit_of_the_grant() {
        // Unit 7 works at location 70, unit 8 at location 80, unit 9 has no location.
        let units = [(7, Some(70)), (8, Some(80)), (9, None)];
        let at_7 =
            Permissions::new(vec![Grant { role: Role::CaseWorker, authority_id: Some(2), org_unit_id: Some(7) }]);
        assert!(at_7.can_work_counter_at(2, 70, &units));
        assert!(!at_7.can_work_counter_at(2, 80, &units), "another unit's location");
        assert!(!at_7.can_work_counter_at(3, 70, &units), "another authority");
        assert!(!at_7.can_work_counter_at(2, 70, &[(8, Some(80))]), "a unit not of this authority");
        let at_9 =
            Permissions::new(vec![Grant { role: Role::CaseWorker, authority_id: Some(2), org_unit_id: Some(9) }]);
        assert!(!at_9.can_work_counter_at(2, 70, &units), "a unit without a location covers none");
        let both = Permissions::new(vec![
            Grant { role: Role::CaseWorker, authority_id: Some(2), org_unit_id: Some(7) },
            Grant { role: Role::AuthorityAdmin, authority_id: Some(2), org_unit_id: Some(8) },
        ]);
        assert!(both.can_work_counter_at(2, 70, &units) && both.can_work_counter_at(2, 80, &units));
        let whole = Permissions::new(vec![grant(Role::CaseWorker, Some(2))]);
        assert!(whole.can_work_counter_at(2, 70, &units) && whole.can_work_counter_at(2, 999, &units));
        assert!(!whole.can_work_counter_at(3, 70, &units));
        let admin = Permissions::new(vec![grant(Role::AuthorityAdmin, Some(2))]);
        assert!(admin.can_work_counter_at(2, 80, &units));
        // Editors configure calendars but see no bookings; nor does the Verbund administrator.
        let editor = Permissions::new(vec![grant(Role::Editor, Some(2))]);
        let verbund = Permissions::new(vec![grant(Role::VerbundAdmin, None)]);
        assert!(!editor.can_work_counter_at(2, 70, &units) && !verbund.can_work_counter_at(2, 70, &units));
        // A whole-authority editor who works the counter of one unit only.
        let mixed = Permissions::new(vec![
            grant(Role::Editor, Some(2)),
            Grant { role: Role::CaseWorker, authority_id: Some(2), org_unit_id: Some(7) },
        ]);
        assert!(mixed.can_work_counter_at(2, 70, &units) && !mixed.can_work_counter_at(2, 80, &units));
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("hausmeister").is_err());
    }
}
