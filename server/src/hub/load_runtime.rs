//! The load generator's own runtime. The dashboard's API, pages, WebSockets and archive writes run on the server's
//! runtime; a run's session (preflight, the request tasks, their client connections, the open loop's dispatcher)
//! runs here, on threads of its own. A burst of API clients or viewers then queues behind the dashboard's own work,
//! not in front of a request's next chunk: the OS shares the cores between the two sets of threads, and the load's
//! tasks never wait in the dashboard's task queue.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: OnceLock<Option<Runtime>> = OnceLock::new();

/// Environment variable: worker threads of the load runtime (default: one per core, at least 2); `0` runs the load
/// on the dashboard's runtime, unisolated (for comparison in `benches/viewers.rs`).
pub const THREADS_ENV: &str = "TOKENSCOPE_LOAD_THREADS";

/// The load runtime's handle (built on first use); the current runtime's when it could not be built (a run still
/// works, unisolated, and the log says so) or [`THREADS_ENV`] is 0.
pub fn handle() -> Handle {
    let rt = RUNTIME.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        let workers = std::env::var(THREADS_ENV).ok().and_then(|v| v.parse::<usize>().ok()).unwrap_or(cores);
        if workers == 0 {
            return None;
        }
        match Builder::new_multi_thread().worker_threads(workers).thread_name("tokenscope-load").enable_all().build() {
            Ok(rt) => Some(rt),
            Err(e) => {
                tracing::warn!("cannot start the load generator's own threads ({e}); runs share the dashboard's");
                None
            }
        }
    });
    rt.as_ref().map_or_else(Handle::current, |rt| rt.handle().clone())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn work_runs_on_the_load_threads() {
        let name = super::handle().spawn(async { std::thread::current().name().map(str::to_owned) }).await.unwrap();
        assert_eq!(name.as_deref(), Some("tokenscope-load"));
    }
}
