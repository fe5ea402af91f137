//! `spawn_app()`: starts the real server on a free port with a fresh archive and a minimal site.

use std::path::PathBuf;

use server::{cli::ServeArgs, startup::Application};

/// A running test server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `127.0.0.1:PORT`
    pub authority: String,
    _dir: tempfile::TempDir,
}

/// Starts the app on port 0 with its archive and site in a temporary folder.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let site = fake_site(dir.path().join("site"));
    let args = ServeArgs {
        host: "127.0.0.1".into(),
        port: 0,
        db: format!("sqlite://{}", dir.path().join("test.db").display()),
        site_root: Some(site),
        simulate_gpu: None,
        no_demo: true,
        gpu_interval: std::time::Duration::from_millis(250),
        gpus: None,
    };
    let app = Application::build(&args).await.expect("app builds");
    let addr = app.addr();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp { base: format!("http://{addr}"), authority: addr.to_string(), _dir: dir }
}

/// Tests need no real wasm bundle: a site folder with the files the server looks for.
fn fake_site(root: PathBuf) -> PathBuf {
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::write(root.join("pkg/tokenscope.js"), "export default function(){}").unwrap();
    std::fs::write(root.join("pkg/tokenscope.css"), "body{}").unwrap();
    std::fs::write(root.join("favicon.svg"), "<svg/>").unwrap();
    root
}
