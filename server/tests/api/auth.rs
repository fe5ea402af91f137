//! The access token: required on a public bind (given or generated), accepted as a bearer header, a cookie or
//! through the login form and `?token=` link; failed logins are rate-limited per IP; loopback stays open.

use reqwest::{redirect::Policy, StatusCode};
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

const TOKEN: &str = "test-token-9c1e-0123";

/// The app on 0.0.0.0 (reached over loopback) with `token`, or a generated one when `None`.
async fn public_app(token: Option<&str>) -> TestApp {
    spawn_app_with(|args| {
        args.host = "0.0.0.0".into();
        args.token = token.map(str::to_owned);
    })
    .await
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

async fn status(app: &TestApp, path: &str, header: Option<(&str, String)>) -> StatusCode {
    let mut req = app.http.get(format!("{}{path}", app.base));
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    req.send().await.unwrap().status()
}

#[tokio::test]
async fn a_public_bind_without_a_token_generates_one_and_prints_the_login_link() {
    let app = public_app(None).await;
    let resp = app.http.get(format!("{}/api/runs", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("Authorization: Bearer TOKEN"), "{body}");
    assert_eq!(status(&app, "/api/health", None).await, 200, "health stays open");

    let token = app.banner.split("?token=").nth(1).expect("the banner has a login link").split_whitespace().next();
    let token = token.unwrap().to_owned();
    assert_eq!(token.len(), 32, "{}", app.banner);
    assert_eq!(status(&app, "/api/runs", Some(("authorization", format!("Bearer {token}")))).await, 200);
}

#[tokio::test]
async fn the_bearer_header_or_the_cookie_opens_api_sockets_metrics_and_pages() {
    let app = public_app(Some(TOKEN)).await;
    assert!(!app.banner.contains(TOKEN), "a given token is never printed: {}", app.banner);
    for path in ["/api/runs", "/api/gpu", "/metrics", "/ws/live", "/ws/runs/nope"] {
        assert_eq!(status(&app, path, None).await, 401, "{path} without the token");
    }
    let bearer = || Some(("authorization", format!("Bearer {TOKEN}")));
    let cookie = || Some(("cookie", format!("theme=dark; tokenscope_token={TOKEN}")));
    assert_eq!(status(&app, "/api/runs", bearer()).await, 200);
    assert_eq!(status(&app, "/api/runs", cookie()).await, 200);
    assert_eq!(status(&app, "/metrics", bearer()).await, 200);
    assert_eq!(status(&app, "/runs", cookie()).await, 200);
    assert_eq!(status(&app, "/api/runs", Some(("authorization", "Bearer wrong".into()))).await, 401);
    assert_eq!(status(&app, "/api/runs", Some(("cookie", "tokenscope_token=wrong".into()))).await, 401);
}

#[tokio::test]
async fn a_page_without_the_token_is_the_login_form_which_sets_the_cookie() {
    let app = public_app(Some(TOKEN)).await;
    let resp = app.http.get(format!("{}/runs", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let html = resp.text().await.unwrap();
    assert!(html.contains("data-testid=\"login-form\"") && html.contains("action=\"/login\""), "{html}");

    let http = no_redirects();
    let login = |proto: &'static str| {
        http.post(format!("{}/login", app.base)).header("x-forwarded-proto", proto).form(&[("token", TOKEN)]).send()
    };
    let resp = login("http").await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert_eq!(cookie, format!("tokenscope_token={TOKEN}; HttpOnly; SameSite=Lax; Path=/"));
    let resp = login("https").await.unwrap();
    assert!(resp.headers()["set-cookie"].to_str().unwrap().ends_with("; Secure"), "Secure behind an HTTPS proxy");

    let pair = cookie.split(';').next().unwrap().to_owned();
    assert_eq!(status(&app, "/", Some(("cookie", pair))).await, 200);

    let wrong = http.post(format!("{}/login", app.base)).form(&[("token", "nope")]).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn a_token_link_logs_in_and_redirects_to_the_same_address_without_it() {
    let app = public_app(Some(TOKEN)).await;
    let resp = no_redirects().get(format!("{}/runs?token={TOKEN}&sort=name", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/runs?sort=name");
    assert!(resp.headers()["set-cookie"].to_str().unwrap().starts_with(&format!("tokenscope_token={TOKEN};")));
    let wrong = no_redirects().get(format!("{}/runs?token=nope", app.base)).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
}

#[tokio::test]
async fn failed_logins_from_one_address_are_limited_to_ten_a_minute() {
    let app = public_app(Some(TOKEN)).await;
    let http = no_redirects();
    for i in 0..10 {
        let guess = format!("guess-{i}");
        let resp = http.post(format!("{}/login", app.base)).form(&[("token", guess)]).send().await.unwrap();
        assert_eq!(resp.status(), 401, "failure {i}");
    }
    let resp = http.post(format!("{}/login", app.base)).form(&[("token", "guess-10")]).send().await.unwrap();
    assert_eq!(resp.status(), 429, "an eleventh guess waits");
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let wrong_bearer = Some(("authorization", "Bearer another-guess".to_owned()));
    assert_eq!(status(&app, "/api/runs", wrong_bearer).await, 429, "bearer guesses share the limit");
    // The right token is never locked out (`access.rs` covers the other credential paths).
    let resp = http.post(format!("{}/login", app.base)).form(&[("token", TOKEN)]).send().await.unwrap();
    assert_eq!(resp.status(), 303, "the right token logs in even from a blocked address");
}

#[tokio::test]
async fn loopback_without_a_token_stays_open() {
    let app = spawn_app().await;
    assert_eq!(status(&app, "/api/runs", None).await, 200);
    assert_eq!(status(&app, "/runs", None).await, 200);
    let resp = no_redirects().get(format!("{}/login", app.base)).send().await.unwrap();
    assert_eq!((resp.status(), resp.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/"));
    assert!(!app.banner.contains("?token=") && !app.banner.contains("access token"), "{}", app.banner);
}

#[tokio::test]
async fn loopback_with_a_token_requires_it() {
    let app = spawn_app_with(|args| args.token = Some(TOKEN.into())).await;
    assert_eq!(status(&app, "/api/runs", None).await, 401);
    assert_eq!(status(&app, "/api/runs", Some(("authorization", format!("Bearer {TOKEN}")))).await, 200);
}
