//! Data the server hands to the pages it renders (ssr only). The server provides a [`RunsSource`] as context when it
//! renders a page; the Runs page's resource reads it there, and fetches the JSON API instead in the browser.

use std::{future::Future, pin::Pin, sync::Arc};

use protocol::archive::RunSummary;

/// A boxed future the server can await on any worker.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The archive's rows, newest first (or why they could not be read).
pub type RunsResult = Result<Vec<RunSummary>, String>;

/// Reads the archive's rows for the Runs page.
#[derive(Clone)]
pub struct RunsSource(Arc<dyn Fn() -> BoxFuture<RunsResult> + Send + Sync>);

impl RunsSource {
    /// A source calling `list` for every render.
    pub fn new(list: impl Fn() -> BoxFuture<RunsResult> + Send + Sync + 'static) -> Self {
        RunsSource(Arc::new(list))
    }

    /// The rows.
    pub fn list(&self) -> BoxFuture<RunsResult> {
        (self.0)()
    }
}
