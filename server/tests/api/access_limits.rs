//! Replays of the attack on the public port, credentials side: wrong tokens from every credential path count
//! (the cookie was never limited), distinct ones only (a stale cookie is not a lockout), the right token always
//! passes, short tokens are refused at start, and behind `--trust-proxy` each client has its own limit.

use reqwest::{redirect::Policy, StatusCode};
use serde_json::Value;

use server::startup::Application;

use crate::helpers::{spawn_app_with, TestApp};

const TOKEN: &str = "access-limits-token-5e1f0c";

/// The app on 0.0.0.0 (reached over loopback) with [`TOKEN`], trusting `trust_proxy` proxies.
async fn public_app(trust_proxy: u8) -> TestApp {
    spawn_app_with(|args| {
        args.host = "0.0.0.0".into();
        args.token = Some(TOKEN.into());
        args.trust_proxy = trust_proxy;
    })
    .await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// `GET path` with these headers.
async fn get(app: &TestApp, path: &str, headers: &[(&str, String)]) -> reqwest::Response {
    let mut req = client().get(format!("{}{path}", app.base));
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    req.send().await.unwrap()
}

fn cookie(token: &str) -> (&'static str, String) {
    ("cookie", format!("tokenscope_token={token}"))
}

fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

/// Sends `n` distinct wrong cookies from one client (extra headers `from`); the statuses.
async fn guess_cookies(app: &TestApp, n: usize, tag: &str, from: &[(&str, String)]) -> Vec<StatusCode> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut headers = from.to_vec();
        headers.push(cookie(&format!("guess-{tag}-{i}")));
        out.push(get(app, "/api/runs", &headers).await.status());
    }
    out
}

#[tokio::test]
async fn sixty_distinct_wrong_cookie_tokens_are_rate_limited() {
    let app = public_app(0).await;
    let statuses = guess_cookies(&app, 60, "a", &[]).await;
    assert!(statuses[..10].iter().all(|s| *s == 401), "the first ten are plain failures: {statuses:?}");
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(limited, 50, "every guess past the tenth is refused: {statuses:?}");

    let resp = get(&app, "/api/runs", &[cookie("guess-a-60")]).await;
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("too many wrong tokens"), "{body}");
    // A page gets the same, as a page.
    let resp = get(&app, "/runs", &[cookie("guess-a-61")]).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn the_same_stale_cookie_sixty_times_is_the_login_page_not_a_lockout() {
    let app = public_app(0).await;
    // A browser whose cookie holds the token of an earlier server loads a page and its assets, again and again.
    for i in 0..60 {
        let path = ["/", "/runs", "/api/runs", "/pkg/tokenscope.js", "/ws/live"][i % 5];
        let resp = get(&app, path, &[cookie("token-of-the-server-before-restart")]).await;
        assert_eq!(resp.status(), 401, "request {i} ({path})");
        if path == "/runs" {
            let html = resp.text().await.unwrap();
            assert!(html.contains("data-testid=\"login-form\""), "the login form");
            assert!(!html.contains("not right"), "a stale cookie is not scolded: {html}");
        }
    }
    // Logging in with the right token then works at once.
    let resp = client().post(format!("{}/login", app.base)).form(&[("token", TOKEN)]).send().await.unwrap();
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn the_right_token_passes_while_its_address_is_blocked() {
    let app = public_app(0).await;
    let statuses = guess_cookies(&app, 12, "b", &[]).await;
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    assert_eq!(get(&app, "/api/runs", &[bearer(TOKEN)]).await.status(), 200, "bearer");
    assert_eq!(get(&app, "/api/runs", &[cookie(TOKEN)]).await.status(), 200, "cookie");
    assert_eq!(get(&app, "/runs", &[cookie(TOKEN)]).await.status(), 200, "a page");
    let link = get(&app, &format!("/runs?token={TOKEN}"), &[]).await;
    assert_eq!(link.status(), 303, "a ?token= link");
    let form = client().post(format!("{}/login", app.base)).form(&[("token", TOKEN)]).send().await.unwrap();
    assert_eq!(form.status(), 303, "the login form");
    // A wrong token by any other path is refused while blocked.
    assert_eq!(get(&app, "/api/runs", &[bearer("wrong-bearer")]).await.status(), 429);
    assert_eq!(get(&app, "/runs?token=wrong-link", &[]).await.status(), 429);
    let form = client().post(format!("{}/login", app.base)).form(&[("token", "wrong-form")]).send().await.unwrap();
    assert_eq!(form.status(), 429);
}

#[tokio::test]
async fn bearer_link_and_form_failures_count_against_the_same_limit() {
    let app = public_app(0).await;
    let form = |token: String| client().post(format!("{}/login", app.base)).form(&[("token", token)]).send();
    for i in 0..3 {
        assert_eq!(get(&app, "/api/runs", &[bearer(&format!("bearer-{i}"))]).await.status(), 401);
        assert_eq!(get(&app, &format!("/runs?token=link-{i}"), &[]).await.status(), 401);
        assert_eq!(form(format!("form-{i}")).await.unwrap().status(), 401);
    }
    assert_eq!(get(&app, "/api/runs", &[bearer("bearer-last")]).await.status(), 401, "the tenth");
    assert_eq!(form("form-last".into()).await.unwrap().status(), 429);
    assert_eq!(get(&app, "/runs?token=link-last", &[]).await.status(), 429);
}

#[tokio::test]
async fn a_token_shorter_than_sixteen_characters_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for short in ["abc", "x", "fifteen-chars-x"] {
        let mut args = server::testing::server_config(dir.path()).unwrap();
        args.host = "0.0.0.0".into();
        args.token = Some(short.into());
        let Err(e) = Application::build(&args).await else { panic!("--token {short:?} was accepted") };
        let msg = format!("{e:#}");
        assert!(msg.contains("--token") && msg.contains("at least 16 characters"), "{msg}");
        assert!(msg.contains("openssl rand -hex 16") && msg.contains("generated"), "{msg}");
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_clients_have_separate_limits() {
    let app = public_app(1).await;
    let a = [("x-forwarded-for", "198.51.100.1".to_owned())];
    let b = [("x-forwarded-for", "198.51.100.2".to_owned())];
    let statuses = guess_cookies(&app, 11, "a", &a).await;
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    assert_eq!(guess_cookies(&app, 1, "b", &b).await, [StatusCode::UNAUTHORIZED], "another client is not blocked");
    // The client cannot pick its address: the proxy appends the real one, and only that entry is read.
    let forged = [("x-forwarded-for", "203.0.113.77, 198.51.100.1".to_owned())];
    assert_eq!(guess_cookies(&app, 1, "c", &forged).await, [StatusCode::TOO_MANY_REQUESTS]);
}

#[tokio::test]
async fn without_trust_proxy_the_forwarded_header_is_ignored() {
    let app = public_app(0).await;
    let a = [("x-forwarded-for", "198.51.100.1".to_owned())];
    let b = [("x-forwarded-for", "198.51.100.2".to_owned())];
    let statuses = guess_cookies(&app, 10, "a", &a).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(guess_cookies(&app, 1, "b", &b).await, [StatusCode::TOO_MANY_REQUESTS], "one shared limit");
}
