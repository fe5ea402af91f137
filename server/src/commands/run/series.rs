//! What `tokenscope run` keeps for the archive while it runs: the engine's windows and request records, tapped from
//! the event stream on its way to the progress bar, and the GPU samples taken meanwhile. Saved with the run at the
//! end, in one transaction, unless `--no-save`.

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use protocol::event::RunEvent;
use protocol::gpu::GpuSample;

use crate::store::SeriesBatch;
use crate::telemetry::Telemetry;

/// The collecting tasks of one run.
pub struct SeriesTap {
    events: JoinHandle<SeriesBatch>,
    gpu: JoinHandle<Vec<GpuSample>>,
    stop: CancellationToken,
    telemetry: Telemetry,
}

impl SeriesTap {
    /// Passes `rx` on unchanged, keeping a copy of what the archive stores, and starts collecting GPU samples.
    pub fn start(mut rx: UnboundedReceiver<RunEvent>, telemetry: &Telemetry) -> (UnboundedReceiver<RunEvent>, Self) {
        let (tx, out) = unbounded_channel();
        let events = tokio::spawn(async move {
            let mut batch = SeriesBatch::default();
            while let Some(ev) = rx.recv().await {
                batch.record(&ev);
                // The progress bar may be gone (quiet); the archive still wants the events.
                let _ = tx.send(ev);
            }
            batch
        });
        let stop = CancellationToken::new();
        let gpu = {
            let (mut sub, stop) = (telemetry.subscribe(), stop.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                loop {
                    tokio::select! {
                        r = sub.recv() => match r {
                            Ok(batch) => samples.extend(batch.iter().cloned()),
                            Err(RecvError::Lagged(_)) => {}
                            Err(RecvError::Closed) => break,
                        },
                        () = stop.cancelled() => break,
                    }
                }
                samples
            })
        };
        (out, SeriesTap { events, gpu, stop, telemetry: telemetry.clone() })
    }

    /// Waits for the event stream to end (the engine is done) and returns everything collected.
    pub async fn finish(self) -> SeriesBatch {
        self.stop.cancel();
        let mut batch = self.events.await.unwrap_or_default();
        batch.gpu = self.gpu.await.unwrap_or_default();
        batch.telemetry = Some(self.telemetry.status());
        batch
    }
}
