//! The booking reference citizens quote at the counter or on the phone.

/// Letters and digits that cannot be confused when read aloud or from a printout:
/// no 0/O, 1/I/L, and no U (V/U in handwriting).
const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A reference like `T-7KQ2-M9XD` from (at least 8) random bytes. 30^8 ≈ 6.6·10^11
/// codes; the store's UNIQUE constraint catches the rare collision (draw again).
/// Missing bytes count as zero, so pass 8 bytes from a CSPRNG.
#[must_use]
pub fn reference_code(random: &[u8]) -> String {
    let mut out = String::from("T-");
    for i in 0..8 {
        if i == 4 {
            out.push('-');
        }
        let b = random.get(i).copied().unwrap_or(0);
        // 256 % 30 = 16: a slight bias towards the first 16 characters, irrelevant
        // for a code that is not a secret (the manage token is).
        out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
    }
    out
}

/// Normalises what a clerk types into the search field ("t 7kq2m9xd") to the stored
/// form, or `None` when it cannot be a reference.
#[must_use]
pub fn normalize_reference(input: &str) -> Option<String> {
    let compact: String = input.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    let body = compact.strip_prefix('T').unwrap_or(&compact);
    if body.len() != 8 || !body.bytes().all(|b| ALPHABET.contains(&b)) {
        return None;
    }
    Some(format!("T-{}-{}", &body[..4], &body[4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_printed_shape_and_no_ambiguous_letters() {
        let code = reference_code(&[0, 1, 2, 3, 4, 5, 6, 255]);
        assert_eq!(code.len(), 11);
        assert!(code.starts_with("T-"));
        assert_eq!(&code[6..7], "-");
        for b in 0..=255u8 {
            let c = reference_code(&[b; 8]);
            assert!(!c[2..].contains(['0', 'O', '1', 'I', 'L', 'U']), "{c}");
        }
        assert_ne!(reference_code(&[1; 8]), reference_code(&[2; 8]));
    }

    #[test]
    fn typed_references_are_normalised() {
        let code = reference_code(&[9, 8, 7, 6, 5, 4, 3, 2]);
        assert_eq!(normalize_reference(&code.to_lowercase().replace('-', " ")), Some(code.clone()));
        assert_eq!(normalize_reference(&code[2..]), Some(code));
        assert_eq!(normalize_reference("Müller"), None);
        assert_eq!(normalize_reference("T-0000-0000"), None);
    }
}
