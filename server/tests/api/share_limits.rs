//! Share links against a scanner and across sites: lookups of unknown share ids are limited per client (`/s/{id}`
//! and the ids of a share cookie alike) while real links always open; the owner's session cookie is `SameSite=Lax`,
//! so the owner who opens a share link from another site arrives as the owner, and a cross-site write is still
//! refused.

use reqwest::{header, redirect::Policy, StatusCode};
use serde_json::{json, Value};

use protocol::api::{ApiErrorBody, RunCreated};
use protocol::share::{Role, SessionInfo, ShareView};
use server::auth::MAX_UNKNOWN_SHARES;

use crate::helpers::{bearer_client, demo_spec, spawn_app_with, TestApp};

const TOKEN: &str = "share-limits-token-4d2a9c";

/// A demo app on a public bind with [`TOKEN`], trusting one proxy's `X-Forwarded-For` (so that a test can speak as
/// several clients); one completed run and a share link to it.
async fn fixture() -> (TestApp, String, ShareView) {
    let app = spawn_app_with(|args| {
        args.host = "0.0.0.0".into();
        args.token = Some(TOKEN.into());
        args.trust_proxy = 1;
        args.no_demo = false;
    })
    .await;
    let owner = bearer_client(TOKEN);
    let demo: Value = owner.get(format!("{}/api/demo", app.base)).send().await.unwrap().json().await.unwrap();
    let spec = demo_spec(demo["target"].as_str().unwrap(), 2, Some(4), None);
    let resp = owner.post(format!("{}/api/runs", app.base)).json(&spec).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let run = resp.json::<RunCreated>().await.unwrap().id;
    let resp = owner
        .post(format!("{}/api/shares", app.base))
        .json(&json!({ "kind": "run", "runs": [run], "label": "limits" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let share = resp.json::<ShareView>().await.unwrap();
    (app, run, share)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// `GET path` as the client at `ip` (through the trusted proxy), with more headers.
async fn get_from(app: &TestApp, ip: &str, path: &str, headers: &[(&str, String)]) -> reqwest::Response {
    let mut req = client().get(format!("{}{path}", app.base)).header("x-forwarded-for", ip);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    req.send().await.unwrap()
}

/// A well-formed id that names no link (22 characters of the id alphabet).
fn unknown_id(tag: &str, i: u32) -> String {
    format!("{:x<22}", format!("{tag}{i}"))
}

/// The `name=value` of a response's `Set-Cookie` for `name`.
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// Proves: one client's unknown share ids past [`MAX_UNKNOWN_SHARES`] in a minute get 429 with `Retry-After` and a
/// message saying so; a real link still opens for that client; another client is not affected; malformed ids count
/// as unknown ones.
#[tokio::test]
async fn unknown_share_ids_past_the_limit_get_429_while_real_links_open() {
    let (app, run, share) = fixture().await;
    let scanner = "198.51.100.7";
    for i in 0..MAX_UNKNOWN_SHARES - 1 {
        let resp = get_from(&app, scanner, &format!("/s/{}", unknown_id("scan", i)), &[]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "unknown id {i}");
        assert!(resp.text().await.unwrap().contains("This share link does not exist"));
    }
    // A malformed id counts too: the last one within the limit.
    let resp = get_from(&app, scanner, "/s/not-an-id!", &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let resp = get_from(&app, scanner, &format!("/s/{}", unknown_id("past", 0)), &[]).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("Too many unknown share links") && page.contains(&format!("Try again in {retry} s")),
        "{page}"
    );
    // Already counted ids are answered the same while blocked.
    let again = get_from(&app, scanner, &format!("/s/{}", unknown_id("scan", 0)), &[]).await;
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);

    // The real link opens, for the blocked client too.
    let resp = get_from(&app, scanner, &share.path, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[header::LOCATION], format!("/runs/{run}"));
    assert!(set_cookie(&resp, "tokenscope_share").is_some());

    // Another client is counted apart.
    let resp = get_from(&app, "198.51.100.8", &format!("/s/{}", unknown_id("other", 0)), &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

/// Proves: the ids of a share cookie count as lookups too (a cookie of guesses is no way around the limit): a
/// client sending cookies of unknown ids gets the login form, then 429 (JSON with `Retry-After` on the API); a
/// cookie that holds a working link still opens its run; the same dead ids sent again and again are not a lockout.
#[tokio::test]
async fn share_cookies_of_unknown_ids_are_limited_too() {
    let (app, run, share) = fixture().await;
    let cookie = |ids: &[String]| ("cookie", format!("tokenscope_share={}", ids.join(".")));

    // A browser whose cookie still names 8 links that were since deleted: any number of requests, no lockout.
    let stale: Vec<String> = (0..8).map(|i| unknown_id("dead", i)).collect();
    for _ in 0..5 {
        let resp = get_from(&app, "198.51.100.20", &format!("/runs/{run}"), &[cookie(&stale)]).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "the login form, as without a cookie");
    }

    let guesser = "198.51.100.21";
    let mut statuses = Vec::new();
    for round in 0..4 {
        let ids: Vec<String> = (0..8).map(|i| unknown_id(&format!("g{round}"), i)).collect();
        statuses.push(get_from(&app, guesser, "/api/runs/summaries", &[cookie(&ids)]).await.status());
    }
    assert_eq!(
        statuses,
        [StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS],
        "8 + 8 + 8 distinct unknown ids: the fourth request finds the client blocked"
    );
    let resp = get_from(&app, guesser, &format!("/api/runs/{run}"), &[cookie(&[unknown_id("g9", 0)])]).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key(header::RETRY_AFTER));
    let body: ApiErrorBody = resp.json().await.unwrap();
    assert!(body.error.contains("too many unknown share links"), "{}", body.error);

    // A cookie with a working link (beside guesses) still reads the shared run.
    let mixed = vec![share.id.clone(), unknown_id("g9", 1)];
    let resp = get_from(&app, guesser, &format!("/api/runs/{run}"), &[cookie(&mixed)]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // The owner's token is never limited.
    let resp = get_from(&app, guesser, "/api/runs/summaries", &[("authorization", format!("Bearer {TOKEN}"))]).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

/// Proves: the session cookie is `SameSite=Lax`, so a top-level navigation from another site carries it (the
/// browser's side, shown in end2end/tests/share-crosssite.spec.ts) and the server then treats the owner as the
/// owner on a share link: the link redirects to the run, whose page renders in owner mode (not `viewer`), and
/// `/api/session` says `owner`. A cross-site write with the same cookie is refused by the origin check (403), and a
/// browser holding only the link still gets the viewer's page.
#[tokio::test]
async fn the_owner_opening_a_share_link_from_another_site_is_the_owner() {
    let (app, run, share) = fixture().await;
    let login = client().post(format!("{}/login", app.base)).form(&[("token", TOKEN)]).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let set = login.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set.contains("SameSite=Lax") && set.contains("HttpOnly"), "{set}");
    let token_cookie = set_cookie(&login, "tokenscope_token").unwrap();

    // What a browser sends on a cross-site top-level navigation, with the Lax cookie.
    let navigation = |cookies: String| {
        vec![
            ("cookie", cookies),
            ("sec-fetch-site", "cross-site".to_owned()),
            ("sec-fetch-mode", "navigate".to_owned()),
            ("sec-fetch-dest", "document".to_owned()),
            ("referer", "https://chat.example/room/1".to_owned()),
        ]
    };
    let ip = "198.51.100.30";
    let resp = get_from(&app, ip, &share.path, &navigation(token_cookie.clone())).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[header::LOCATION], format!("/runs/{run}"));
    let share_cookie = set_cookie(&resp, "tokenscope_share").unwrap();
    let both = format!("{token_cookie}; {share_cookie}");
    let page = get_from(&app, ip, &format!("/runs/{run}"), &navigation(both.clone())).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<body") && !html.contains("class=\"viewer\""), "owner mode, not the viewer's page");
    let session: SessionInfo =
        get_from(&app, ip, "/api/session", &[("cookie", both.clone())]).await.json().await.unwrap();
    assert_eq!(session.role, Role::Owner);

    // The same cookie on a cross-site write: refused before the token is even looked at.
    for (method, path) in [("POST", format!("/api/runs/{run}/stop")), ("PATCH", format!("/api/runs/{run}"))] {
        let resp = client()
            .request(method.parse().unwrap(), format!("{}{path}", app.base))
            .header("cookie", &both)
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://chat.example")
            .json(&json!({ "name": "renamed from elsewhere" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let body: ApiErrorBody = resp.json().await.unwrap();
        assert!(body.error.contains("cross-origin"), "{}", body.error);
    }
    let view: Value =
        bearer_client(TOKEN).get(format!("{}/api/runs/{run}", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(view["spec"]["name"], "api test", "the run was not renamed");

    // Without the token cookie (someone else who got the link): the viewer's page.
    let viewer = get_from(&app, ip, &format!("/runs/{run}"), &navigation(share_cookie)).await;
    assert_eq!(viewer.status(), StatusCode::OK);
    assert!(viewer.text().await.unwrap().contains("class=\"viewer\""));
}
