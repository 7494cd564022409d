use super::*;

#[test]
fn answers_are_read_wherever_a_provider_puts_the_fields() {
    let nested = br#"{"paymentInformation":{"transactionId":"t-1","status":"PAYED","paymentMethod":"PAYPAL"},
        "paymentRequest":{"grosAmount":12.5}}"#;
    let t = WireTransaction::parse(nested).unwrap();
    assert_eq!(t.transaction_id().unwrap(), "t-1");
    assert_eq!(t.gros_amount().unwrap(), Some(Cents(1250)));
    let flat = br#"{"transactionId":"t-2","status":"initial","grosAmount":"8.850","extra":{"a":[1]}}"#;
    let t = WireTransaction::parse(flat).unwrap();
    assert_eq!(t.transaction_id().unwrap(), "t-2");
    assert_eq!(t.pick(|i| &i.status, &t.status).as_deref(), Some("initial"));
    assert_eq!(t.gros_amount().unwrap(), Some(Cents(885)), "a string amount is tolerated");
    let t = WireTransaction::parse(br#"{"transactionId":"t-3","grosAmount":null}"#).unwrap();
    assert_eq!(t.gros_amount().unwrap(), None);

    for garbage in [&b"<html>"[..], br#"[1,2]"#, br#"{"transactionId":5}"#] {
        assert!(matches!(WireTransaction::parse(garbage), Err(ProviderError::Garbage(_))));
    }
    let t = WireTransaction::parse(br#"{"transactionId":"../x"}"#).unwrap();
    assert!(matches!(t.transaction_id(), Err(ProviderError::Garbage(_))), "ids go into URLs");
    let t = WireTransaction::parse(br#"{"transactionId":"t","grosAmount":1.234}"#).unwrap();
    assert!(matches!(t.gros_amount(), Err(ProviderError::Garbage(_))), "sub-cent");
    let t = WireTransaction::parse(br#"{"transactionId":"t","grosAmount":1e3}"#).unwrap();
    assert!(matches!(t.gros_amount(), Err(ProviderError::Garbage(_))), "no exponents");
}

#[test]
fn refusals_are_classified_by_code_and_status() {
    let problem = |code: &str| format!(r#"{{"status":400,"functionalCode":"{code}","detail":"x"}}"#).into_bytes();
    assert_eq!(refusal(409, &problem("PAYMENT_EXISTS")).code(), Some("PAYMENT_EXISTS"));
    assert_eq!(refusal(400, br#"{"code":"validation_error"}"#).code(), Some("VALIDATION_ERROR"));
    assert_eq!(refusal(403, b"").code(), Some("FORBIDDEN"));
    assert_eq!(refusal(418, b"teapot").code(), Some("UNSPECIFIED"));
    assert!(matches!(refusal(503, b""), ProviderError::Unavailable(_)));
    assert!(matches!(refusal(429, b""), ProviderError::Unavailable(_)));
    assert!(matches!(refusal(500, &problem("UNSPECIFIED")), ProviderError::Unavailable(_)));
    assert_eq!(refusal(500, &problem("CALCULATION_ERROR")).code(), Some("CALCULATION_ERROR"));
    assert!(matches!(refusal(302, b""), ProviderError::NotAllowed(m) if m.contains("Weiterleitung")));
    // Foreign text stays out of what people read, and odd codes are not taken over.
    let e = refusal(400, br#"{"functionalCode":"<script>","detail":"Interner Fehler in /opt/app"}"#);
    assert_eq!(e.code(), Some("UNSPECIFIED"));
    assert!(!e.german().contains("/opt/app"));
}

#[test]
fn tokens_are_kept_until_shortly_before_they_expire() {
    let cache = auth::TokenCache::default();
    let key = auth::TokenKey::new("https://idp.example/token", "a", "b", None);
    assert_ne!(key, auth::TokenKey::new("https://idp.example/token", "a", "c", None));
    assert_ne!(key, auth::TokenKey::new("https://idp.example/token", "a", "b", Some("x")));
    cache.put(key.clone(), "t1".into(), 300);
    assert_eq!(cache.get(&key).as_deref(), Some("t1"));
    cache.forget(&key);
    assert_eq!(cache.get(&key), None);
    cache.put(key.clone(), "t2".into(), 30);
    assert_eq!(cache.get(&key), None, "too short-lived to keep");
}
