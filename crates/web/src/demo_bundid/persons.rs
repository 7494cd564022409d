//! The test persons of the simulated BundID: invented people living in the demo
//! Verbund, each with a fixed bPK2, so that signing in again reaches the same account.

use amtsweg_domain::TrustLevel;
use amtsweg_saml::attributes as oid;
use amtsweg_saml::idp::AttributeValue;
use minijinja::context;

pub(super) struct Person {
    pub key: &'static str,
    pub bpk2: &'static str,
    pub given_name: &'static str,
    pub family_name: &'static str,
    /// ISO date, as BundID sends it.
    pub birth_date: &'static str,
    pub street: &'static str,
    pub postal_code: &'static str,
    pub city: &'static str,
    pub email: &'static str,
    pub note: &'static str,
}

pub(super) const PERSONS: &[Person] = &[
    Person {
        key: "erika",
        bpk2: "bPK2-DEMO-ERIKA-MUSTERMANN",
        given_name: "Erika",
        family_name: "Mustermann",
        birth_date: "1980-03-12",
        street: "Lindenweg 4",
        postal_code: "29391",
        city: "Moorbrück",
        email: "erika.mustermann@moorbrueck.example",
        note: "wohnt in der Stadt Moorbrück",
    },
    Person {
        key: "ole",
        bpk2: "bPK2-DEMO-OLE-HANSEN",
        given_name: "Ole",
        family_name: "Hansen",
        birth_date: "1992-07-01",
        street: "Dorfstraße 7",
        postal_code: "29397",
        city: "Ellerloh",
        email: "ole.hansen@ellerloh.example",
        note: "wohnt in Ellerloh, Samtgemeinde Heideland",
    },
];

pub(super) fn find(key: &str) -> Option<&'static Person> {
    PERSONS.iter().find(|p| p.key == key)
}

pub(super) fn view() -> Vec<minijinja::Value> {
    PERSONS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            context! {
                key => p.key, name => format!("{} {}", p.given_name, p.family_name), note => p.note,
                address => format!("{}, {} {}", p.street, p.postal_code, p.city), first => i == 0,
            }
        })
        .collect()
}

impl Person {
    /// The attributes BundID sends. Values read from an ID document carry the level
    /// of the sign-in; the e-mail address is only self-declared (level 1), as at BundID.
    pub(super) fn attributes(&self, trust: TrustLevel) -> Vec<AttributeValue> {
        let a = |name, value: &str, trust| AttributeValue { name, value: value.to_owned(), trust };
        vec![
            a(oid::BPK2, self.bpk2, trust),
            a(oid::GIVEN_NAME, self.given_name, trust),
            a(oid::FAMILY_NAME, self.family_name, trust),
            a(oid::BIRTH_DATE, self.birth_date, trust),
            a(oid::STREET, self.street, trust),
            a(oid::POSTAL_CODE, self.postal_code, trust),
            a(oid::CITY, self.city, trust),
            a(oid::EMAIL, self.email, TrustLevel::Normal),
        ]
    }
}
