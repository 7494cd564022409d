//! Fuzz harness of the form-step bodies anonymous visitors post (URL-encoded and
//! `multipart/form-data` with files), through the real router: seeds from
//! `fuzz/corpus/form_step/`, mutated, posted with a valid CSRF token so the step
//! parser is reached. No request ends in a server error or a panic, replies stay
//! small, and the time for a step grows linearly with the number of posted fields.

#[path = "../../../../fuzz/harness.rs"]
mod harness;

use crate::support::{Reply, TestApp, apps};
use crate::verwaltung::{Jar, get, hidden, post};
use axum::body::Body;
use axum::http::{Request, header};
use harness::Dict;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

const OSTERFEUER: &str = "/o/moorbrueck/antrag/osterfeuer/";
const BOUNDARY: &str = "----fuzz";

const DICT: Dict = Dict {
    tokens: &[
        "&",
        "=",
        "%",
        "%zz",
        "%C3",
        "%00",
        "%FF%FE",
        "+",
        "&&&",
        "==",
        "f.",
        "g.brandwache.",
        ".anzahl=",
        "99999999999999999999",
        "f.lageplan",
        "\r\n",
        "\r\n\r\n",
        "--",
        "------fuzz",
        "------fuzz--",
        "Content-Disposition: form-data; name=\"",
        "\"; filename=\"",
        "../../etc/passwd",
        "Content-Type: text/html\r\n",
        "csrf=",
        "token=",
        "aktion=zurueck",
        "zurueck=pruefen",
        "\u{0}",
        "ä",
    ],
    pairs: &[("f.x=", "&"), ("------fuzz\r\nContent-Disposition: form-data; name=\"f.x\"\r\n\r\n", "\r\n")],
};

/// A step of the Osterfeuer form with its draft: where to post and the token.
struct Step {
    first_csrf: String,
    first_token: String,
    url: String,
    csrf: String,
    cookie: String,
}

async fn open_step(app: &TestApp) -> Step {
    let mut jar = Jar::default();
    let page = get(app, &mut jar, OSTERFEUER).await;
    let (first_csrf, first_token) = (hidden(&page.body, "csrf"), hidden(&page.body, "token"));
    let r = post(
        app,
        &mut jar,
        OSTERFEUER,
        &format!(
            "csrf={first_csrf}&token={first_token}&aktion=weiter&f.name=Verein&f.telefon=05191+12345&f.email=feuer%40example.org"
        ),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let url = r.location().to_owned();
    let page = get(app, &mut jar, &url).await;
    Step { first_csrf, first_token, url, csrf: hidden(&page.body, "csrf"), cookie: jar.header() }
}

/// Posts a mutated body: multipart when the seed was, with the CSRF part first; the
/// first page's body also gets its form token.
async fn send(app: &TestApp, step: &Step, body: Vec<u8>, first_page: bool) -> Reply {
    let multipart = body.starts_with(b"--");
    let (path, body, content_type) = if multipart {
        let csrf = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n", step.csrf);
        let body = [csrf.into_bytes(), body].concat();
        (step.url.as_str(), body, format!("multipart/form-data; boundary={BOUNDARY}"))
    } else if first_page {
        let tail = format!("&csrf={}&token={}", step.first_csrf, step.first_token);
        (OSTERFEUER, [body, tail.into_bytes()].concat(), "application/x-www-form-urlencoded".to_owned())
    } else {
        let tail = format!("&csrf={}", step.csrf);
        (step.url.as_str(), [body, tail.into_bytes()].concat(), "application/x-www-form-urlencoded".to_owned())
    };
    let req = Request::post(path)
        .header(header::HOST, "localhost")
        .header(header::CONTENT_TYPE, content_type)
        .header(header::COOKIE, &step.cookie)
        .header(header::ORIGIN, "http://localhost")
        .body(Body::from(body))
        .unwrap();
    app.request(req).await
}

fn assert_answered(r: &Reply, body: &[u8]) {
    assert!(
        r.status.as_u16() < 500,
        "{} for the body {:?}:\n{}",
        r.status,
        String::from_utf8_lossy(body),
        r.body.chars().take(2000).collect::<String>()
    );
    assert!(r.body.len() <= 512 * 1024, "a reply of {} bytes", r.body.len());
}

#[tokio::test]
async fn mutated_form_steps_never_fail_the_server() {
    let seeds = harness::corpus("form_step");
    // proptest drives the values; the requests are async, so cases are drawn here.
    let strategy = (0..seeds.len()).prop_flat_map(|i| {
        let seed = seeds[i].clone();
        let all = seeds.clone();
        proptest::collection::vec(harness::mutation(false), 0..8).prop_map(move |ms| {
            let mut input = seed.clone();
            for m in &ms {
                harness::apply(&mut input, m, DICT, &all);
            }
            input
        })
    });
    let mut runner = TestRunner::new(harness::config(48));
    for app in apps().await {
        let step = open_step(&app).await;
        for case in 0..harness::cases(48) {
            let body = strategy.new_tree(&mut runner).unwrap().current();
            let first_page = case % 3 == 0;
            let r = send(&app, &step, body.clone(), first_page).await;
            assert_answered(&r, &body);
        }
        // Large repetitions and nesting too.
        let big = (0..seeds.len(), proptest::collection::vec(harness::mutation(true), 1..3));
        for _ in 0..harness::cases(48) / 4 {
            let (i, ms) = big.new_tree(&mut runner).unwrap().current();
            let mut body = seeds[i].clone();
            for m in &ms {
                harness::apply(&mut body, m, DICT, &seeds);
            }
            let r = send(&app, &step, body.clone(), false).await;
            assert_answered(&r, &body);
        }
        app.cleanup().await;
    }
}

/// Finding 1 of issue 18 in general form: a step's work must not grow faster than
/// the number of fields posted to it (unknown ones included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_step_time_grows_linearly() {
    let _exclusive = crate::support::EXCLUSIVE.lock().await;
    for app in apps().await {
        let step = open_step(&app).await;
        let handle = tokio::runtime::Handle::current();
        type Shape = (&'static str, fn(usize) -> Vec<u8>);
        let shapes: [Shape; 3] = [
            ("unknown fields", |n| (0..n).map(|i| format!("x{i}=1&")).collect::<String>().into_bytes()),
            ("one field repeated", |n| "f.ort=Festwiese&".repeat(n).into_bytes()),
            ("multipart parts", |n| {
                let part =
                    |i: usize| format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"x{i}\"\r\n\r\n1\r\n");
                [(0..n).map(part).collect::<String>(), format!("--{BOUNDARY}--\r\n")].concat().into_bytes()
            }),
        ];
        for (what, make) in shapes {
            harness::assert_linear(&format!("form step ({}): {what}", app.name()), 64, make, |body| {
                let r = tokio::task::block_in_place(|| handle.block_on(send(&app, &step, body.clone(), false)));
                assert_answered(&r, b"");
            });
        }
        app.cleanup().await;
    }
}
