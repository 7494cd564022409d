use super::*;

fn strict() -> Policy {
    Policy::default()
}

fn loopback_allowed() -> Policy {
    Policy::new(&OutboundConfig {
        allow_cidrs: vec!["127.0.0.1/32".into()],
        http_hosts: vec!["127.0.0.1".into(), "localhost".into()],
        ..OutboundConfig::default()
    })
    .unwrap()
}

#[test]
fn tricks_that_passed_the_old_prefix_check_are_refused() {
    let p = strict();
    // The user info "127.0.0.1" before the real host 10.0.0.5.
    assert_eq!(p.check("http://127.0.0.1@10.0.0.5/").unwrap_err(), Refusal::Scheme("http".into()));
    assert_eq!(p.check("https://127.0.0.1@10.0.0.5/").unwrap_err(), Refusal::Userinfo);
    // Even where http is allowed for 10.0.0.5, its address is not.
    let http =
        Policy::new(&OutboundConfig { http_hosts: vec!["10.0.0.5".into()], ..OutboundConfig::default() }).unwrap();
    assert!(matches!(http.check("http://10.0.0.5/"), Err(Refusal::Address { .. })));
    // A name that merely starts with "localhost" is an outside host, and http to it is refused.
    assert_eq!(p.check("http://localhost.attacker.example/").unwrap_err(), Refusal::Scheme("http".into()));
    assert!(p.check("https://localhost.attacker.example/").is_ok(), "judged by its addresses when connecting");
}

#[test]
fn numeric_hosts_in_every_spelling_are_judged_by_their_address() {
    let p = strict();
    for url in [
        "https://2130706433/",
        "https://0x7f000001/",
        "https://017700000001/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::1]:8443/",
        "https://[fd00:ec2::254]/",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.1.1/",
        "https://0.0.0.0/",
        "https://255.255.255.255/",
        "https://224.0.0.1/",
        "https://192.168.1.1/",
        "https://172.16.0.1/",
        "https://[fe80::1]/",
        "https://198.51.100.7/",
        "https://[2001:db8::1]/",
        "https://[64:ff9b::a00:1]/",
        "https://[2002:a00:1::]/",
    ] {
        assert!(matches!(p.check(url), Err(Refusal::Address { .. })), "{url}");
    }
    assert!(p.check("https://93.184.215.14/").is_ok());
    assert!(p.check("https://[2606:4700::1111]/").is_ok());
}

#[test]
fn http_only_to_listed_hosts_and_allowances_are_exact() {
    let p = loopback_allowed();
    assert!(p.check("http://127.0.0.1:8080/hook").is_ok());
    assert!(p.check("http://127.0.0.2:8080/hook").is_err(), "http is allowed per host, not per network");
    assert!(matches!(p.check("https://127.0.0.2/"), Err(Refusal::Address { .. })), "only the listed network");
    assert!(p.check("https://[::ffff:127.0.0.1]/").is_ok(), "a mapped address counts as its IPv4 address");
    assert!(p.check("ftp://example.org/").is_err());
    assert!(p.check("https://").is_err());
    assert!(p.check("kein url").is_err());
    let hosts =
        Policy::new(&OutboundConfig { allow_hosts: vec!["DMS.intern.example.".into()], ..OutboundConfig::default() })
            .unwrap();
    assert!(hosts.filter("dms.intern.example", vec!["10.1.2.3:443".parse().unwrap()]).is_ok());
    assert!(hosts.filter("other.intern.example", vec!["10.1.2.3:443".parse().unwrap()]).is_err());
    assert!(
        Policy::new(&OutboundConfig { allow_cidrs: vec!["10.0.0.0/33".into()], ..OutboundConfig::default() }).is_err()
    );
}

#[test]
fn a_name_with_one_internal_address_is_refused_as_a_whole() {
    let p = strict();
    let mixed = vec!["93.184.215.14:443".parse().unwrap(), "10.0.0.1:443".parse().unwrap()];
    assert!(p.filter("mixed.example", mixed).is_err());
    assert!(p.filter("none.example", Vec::new()).is_err());
}

/// A server on 127.0.0.1 that redirects `/weiter` to `/ziel` and counts hits on `/ziel`.
async fn server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = axum::Router::new()
        .route("/weiter", axum::routing::get(|| async { (axum::http::StatusCode::FOUND, [("location", "/ziel")], "") }))
        .route(
            "/ziel",
            axum::routing::get(move || {
                h.fetch_add(1, Ordering::SeqCst);
                async { "ziel" }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, hits)
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_when_connecting() {
    let (port, hits) = server().await;
    // http to "localhost" is allowed, its address is not: the URL passes the check
    // without the network (as a name that changes its DNS answer later would), and
    // the connection is refused by the resolver.
    let p = Policy::new(&OutboundConfig { http_hosts: vec!["localhost".into()], ..OutboundConfig::default() }).unwrap();
    let url = format!("http://localhost:{port}/ziel");
    assert!(p.check(&url).is_ok());
    assert!(p.check_resolved(&url).await.is_err(), "at save time the resolved address is checked");
    let client = p.client_builder().build().unwrap();
    let err = client.get(&url).send().await.unwrap_err();
    assert_eq!(Failure::of(&err), Failure::NotAllowed, "{}", chain(&err));
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(Failure::NotAllowed.german().starts_with("Ziel nicht erlaubt"));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (port, hits) = server().await;
    let p = Policy::new(&OutboundConfig {
        allow_hosts: vec!["localhost".into()],
        http_hosts: vec!["localhost".into()],
        ..OutboundConfig::default()
    })
    .unwrap();
    let client = p.client_builder().build().unwrap();
    let resp = client.get(format!("http://localhost:{port}/weiter")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "the redirect target was not requested");
    assert!(Failure::of_status(302).german().contains("Weiterleitung"));
    // An allowed host goes through.
    let resp = client.get(format!("http://localhost:{port}/ziel")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[test]
fn staff_texts_carry_no_details() {
    assert!(Failure::Status(503).german().starts_with("Antwort 5xx"));
    assert!(Failure::Status(401).german().starts_with("Antwort 4xx"));
    let r = Refusal::Address { host: "intern".into(), addr: "10.0.0.1".parse().unwrap() };
    assert!(!r.german().contains("10.0.0.1") && r.german().starts_with("Ziel nicht erlaubt"));
}
