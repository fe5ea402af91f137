//! `serve --base-path /pod`: pages, assets, API and login answer with or without the prefix (a proxy that forwards
//! it or strips it), and everything the server emits carries it.

use reqwest::{redirect::Policy, StatusCode};

use crate::helpers::{spawn_app_with, TestApp};

/// At least 16 characters, as `--token` requires.
const POD_TOKEN: &str = "pod-token-77-0123456";

async fn pod_app(token: Option<&str>) -> TestApp {
    spawn_app_with(|args| {
        args.base_path = "/pod".into();
        args.token = token.map(str::to_owned);
    })
    .await
}

#[tokio::test]
async fn pages_and_api_answer_with_or_without_the_prefix_and_links_carry_it() {
    let app = pod_app(None).await;
    for path in ["/pod/runs", "/runs", "/pod/", "/pod", "/pod/api/runs/summaries", "/api/runs/summaries"] {
        let resp = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    let html = app.http.get(format!("{}/runs", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(r#"<meta name="tokenscope-base" content="/pod">"#), "{html}");
    assert!(html.contains(r#"href="/pod/pkg/tokenscope.css""#), "{html}");
    assert!(html.contains(r#"href="/pod/runs/new""#), "{html}");
    assert!(html.contains(r#"("/pod", "pkg", "tokenscope""#), "the hydration script loads /pod/pkg/…: {html}");
    assert!(!html.contains(r#"href="/runs"#), "an unprefixed link: {html}");
    // Outside the prefix (and not an app path) there is nothing.
    let resp = app.http.get(format!("{}/podcast", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn login_under_the_prefix_posts_and_redirects_within_it() {
    let app = pod_app(Some(POD_TOKEN)).await;
    let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let form = client.get(format!("{}/pod/runs", app.base)).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::UNAUTHORIZED);
    assert!(form.text().await.unwrap().contains(r#"action="/pod/login""#));

    let resp = client.post(format!("{}/pod/login", app.base)).form(&[("token", POD_TOKEN)]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/pod/");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Path=/pod") && cookie.contains("HttpOnly"), "{cookie}");

    // A stripping proxy: the link arrives without the prefix and still sends the browser back under it.
    let resp = client.get(format!("{}/gpu?token={POD_TOKEN}", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/pod/gpu");
}
