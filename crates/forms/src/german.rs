//! Checks for German values that forms ask for: IBAN (ISO 13616 mod-97 with the
//! country's length), Steuer-ID (§ 139b AO: eleven digits, check digit ISO 7064
//! MOD 11,10, one digit twice or thrice), PLZ, Kfz-Kennzeichen, e-mail, phone.

/// IBAN lengths of SEPA countries a German authority sees most; others: 15–34.
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "DE" => 22,
        "AT" => 20,
        "CH" | "LI" => 21,
        "NL" => 18,
        "BE" => 16,
        "FR" | "IT" | "MC" => 27,
        "ES" | "SE" => 24,
        "PL" => 28,
        "DK" | "FI" => 18,
        "LU" => 20,
        "CZ" | "SK" => 24,
        "IE" | "GB" => 22,
        "PT" => 25,
        _ => return None,
    })
}

/// The IBAN without spaces, upper-case, if it is valid.
#[must_use]
pub fn iban(raw: &str) -> Option<String> {
    let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    if s.len() < 15 || s.len() > 34 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let (country, check) = (&s[0..2], &s[2..4]);
    if !country.chars().all(|c| c.is_ascii_uppercase()) || !check.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if iban_length(country).is_some_and(|n| n != s.len()) {
        return None;
    }
    let rearranged = format!("{}{}", &s[4..], &s[0..4]);
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36)?;
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    (rem == 1).then_some(s)
}

/// The Steuer-Identifikationsnummer if valid (11 digits, no leading zero, among the
/// first ten one digit appears twice or three times — three times not in a row —
/// and the check digit matches).
#[must_use]
pub fn steuer_id(raw: &str) -> Option<String> {
    let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let digits: Vec<u32> = s.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
    if digits.len() != 11 || digits[0] == 0 {
        return None;
    }
    let mut counts = [0u8; 10];
    for d in &digits[..10] {
        counts[*d as usize] += 1;
    }
    let repeated: Vec<usize> = (0..10).filter(|d| counts[*d] > 1).collect();
    let ok_shape = match repeated.as_slice() {
        [d] if counts[*d] == 2 => true,
        [d] if counts[*d] == 3 => !digits[..10].windows(3).any(|w| w.iter().all(|x| *x as usize == *d)),
        _ => false,
    };
    if !ok_shape {
        return None;
    }
    let mut product = 10;
    for d in &digits[..10] {
        let mut sum = (d + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    (check == digits[10]).then_some(s)
}

/// A German postcode: five digits.
#[must_use]
pub fn plz(raw: &str) -> Option<String> {
    let s = raw.trim();
    (s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.to_owned())
}

/// A Kfz-Kennzeichen as "HK-AB 123" (district 1–3 letters, 1–2 letters, 1–4 digits,
/// optional E or H); spaces and hyphens as typed are normalised.
#[must_use]
pub fn kfz(raw: &str) -> Option<String> {
    let s = raw.trim().to_uppercase().replace(['–', '—'], "-");
    let parts: Vec<&str> = s.split(|c: char| c == '-' || c.is_whitespace()).filter(|p| !p.is_empty()).collect();
    let is_letters = |p: &str, max: usize| {
        !p.is_empty() && p.chars().count() <= max && p.chars().all(|c| c.is_ascii_uppercase() || "ÄÖÜ".contains(c))
    };
    let (district, letters, number) = match parts.as_slice() {
        [d, l, n] => (*d, *l, *n),
        // "HK-AB123": letters and digits written together.
        [d, ln] => {
            let split = ln.find(|c: char| c.is_ascii_digit())?;
            (*d, &ln[..split], &ln[split..])
        }
        _ => return None,
    };
    let (digits, suffix) = match number.strip_suffix('E').or_else(|| number.strip_suffix('H')) {
        Some(d) => (d, &number[d.len()..]),
        None => (number, ""),
    };
    let ok = is_letters(district, 3)
        && is_letters(letters, 2)
        && !digits.is_empty()
        && digits.len() <= 4
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then(|| format!("{district}-{letters} {digits}{suffix}"))
}

/// A plausible e-mail address (the server sends a mail to prove it).
#[must_use]
pub fn email(raw: &str) -> Option<String> {
    let e = raw.trim();
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'));
    ok.then(|| e.to_owned())
}

/// A phone number: digits with + - / ( ) and spaces, at least five digits.
#[must_use]
pub fn phone(raw: &str) -> Option<String> {
    let p = raw.trim();
    let ok = p.chars().all(|c| c.is_ascii_digit() || " +-/()".contains(c))
        && p.chars().filter(char::is_ascii_digit).count() >= 5;
    ok.then(|| p.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans() {
        assert_eq!(iban("de89 3704 0044 0532 0130 00").as_deref(), Some("DE89370400440532013000"));
        assert!(iban("DE89370400440532013001").is_none(), "checksum");
        assert!(iban("DE8937040044053201300").is_none(), "length for DE");
        assert!(iban("GB82WEST12345698765432").is_some());
        assert!(iban("hallo").is_none());
    }

    #[test]
    fn steuer_ids() {
        // Published examples of valid Steuer-IDs.
        assert!(steuer_id("86095742719").is_some());
        assert!(steuer_id("47036892816").is_some());
        assert!(steuer_id("86095742718").is_none(), "check digit");
        assert!(steuer_id("01234567890").is_none(), "leading zero");
        assert!(steuer_id("12345678903").is_none(), "no digit repeated");
    }

    #[test]
    fn plz_kfz_email_phone() {
        assert_eq!(plz(" 29391 ").as_deref(), Some("29391"));
        assert!(plz("2939").is_none());
        assert_eq!(kfz("hk ab 123").as_deref(), Some("HK-AB 123"));
        assert_eq!(kfz("HK-AB123E").as_deref(), Some("HK-AB 123E"));
        assert_eq!(kfz("B-MW 1").as_deref(), Some("B-MW 1"));
        assert!(kfz("HK-ABC 123").is_none());
        assert!(kfz("HK-AB 0123").is_none());
        assert!(kfz("123").is_none());
        assert!(email("a@b.de").is_some() && email("a@b").is_none());
        assert!(phone("05141 123-45").is_some() && phone("12").is_none());
    }
}
