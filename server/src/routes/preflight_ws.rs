//! `/ws/preflight`: the New run form's Check, live. The browser sends the target fields (the body of
//! `POST /api/preflight`) as the first text frame; the server answers with [`CheckFrame`]s — each preflight step,
//! where the wait for the server stands (every poll and at least once a second: attempt, seconds, why), then
//! `passed` with the report or `failed` with the message in the form's words and the fixes it can offer — and
//! closes. Closing the socket earlier cancels the check (no request is sent after that).

use axum::{
    extract::{
        ws::{Message, WebSocket, WebSocketUpgrade},
        State,
    },
    response::Response,
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;

use protocol::preflight::{CheckFrame, Surface, WaitProgress};
use protocol::spec::FieldError;

use super::error::{ApiError, ApiJson};
use super::runs::{check_spec, PreflightRequest};
use crate::engine::preflight::{preflight_with, PreflightObserver};
use crate::state::AppState;

/// Upgrades to a Check socket.
pub async fn preflight_ws(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.on_upgrade(move |socket: WebSocket| {
        let (tx, rx) = socket.split();
        serve_check(tx, rx, state)
    })
}

/// Passes what preflight says on as frames.
struct Forward(mpsc::UnboundedSender<CheckFrame>);

impl PreflightObserver for Forward {
    fn state(&mut self, line: &str) {
        let _ = self.0.send(CheckFrame::State { state: line.to_owned() });
    }
    fn waiting(&mut self, progress: &WaitProgress) {
        let _ = self.0.send(CheckFrame::Waiting { progress: progress.clone() });
    }
    fn surface(&self) -> Surface {
        Surface::Form
    }
}

fn text(frame: &CheckFrame) -> Message {
    Message::Text(serde_json::to_string(frame).unwrap_or_default().into())
}

/// The request in the first frame, read exactly as `POST /api/preflight` reads its body (strictly: a field the
/// server does not know is refused by name).
async fn parse(first: &str) -> Result<PreflightRequest, ApiError> {
    use axum::extract::FromRequest;
    let req = axum::http::Request::builder()
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(first.to_owned()))
        .map_err(ApiError::internal)?;
    ApiJson::<PreflightRequest>::from_request(req, &()).await.map(|ApiJson(r)| r)
}

/// A refused request as the socket's last frame.
fn refused(e: ApiError) -> CheckFrame {
    match e {
        ApiError::Invalid { resource, fields } => {
            let summary = fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            CheckFrame::Failed { error: format!("invalid {resource}: {summary}"), fields, fixes: Vec::new() }
        }
        other => CheckFrame::Failed { error: other.to_string(), fields: Vec::new(), fixes: Vec::new() },
    }
}

/// Speaks the Check protocol over any sink/stream pair (tests drive it with channels).
pub async fn serve_check<W, R>(mut tx: W, mut rx: R, state: AppState)
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let first = loop {
        match rx.next().await {
            Some(Ok(Message::Text(t))) => break t,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => return,
        }
    };
    let spec = match parse(first.as_str()).await {
        Ok(req) => check_spec(&state, req).await.map_err(refused),
        Err(e) => Err(refused(e)),
    };
    let spec = match spec {
        Ok(spec) => spec,
        Err(frame) => {
            let _ = tx.send(text(&frame)).await;
            let _ = tx.send(Message::Close(None)).await;
            return;
        }
    };
    let (frames, mut heard) = mpsc::unbounded_channel();
    let mut forward = Forward(frames);
    let result = {
        let check = preflight_with(&spec, &mut forward);
        tokio::pin!(check);
        loop {
            tokio::select! {
                r = &mut check => break r,
                Some(frame) = heard.recv() => {
                    if tx.send(text(&frame)).await.is_err() {
                        return;
                    }
                }
                msg = rx.next() => match msg {
                    // The form cancelled (or left): dropping the check stops it.
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                    Some(Ok(_)) => {}
                },
            }
        }
    };
    drop(forward);
    while let Some(frame) = heard.recv().await {
        if tx.send(text(&frame)).await.is_err() {
            return;
        }
    }
    let last = match result {
        Ok(report) => CheckFrame::Passed { report: Box::new(report) },
        Err(e) => {
            let error = e.render(Surface::Form);
            let fields = vec![FieldError { field: "target".into(), message: error.clone() }];
            CheckFrame::Failed { error, fields, fixes: e.fixes() }
        }
    };
    let _ = tx.send(text(&last)).await;
    let _ = tx.send(Message::Close(None)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_frame_is_read_as_strictly_as_the_post_body() {
        let req = parse(r#"{"target": "http://127.0.0.1:9", "ready_timeout_s": 3}"#).await.unwrap();
        assert_eq!((req.target.as_str(), req.ready_timeout_s), ("http://127.0.0.1:9", Some(3.0)));
        let field = |e: ApiError| match refused(e) {
            CheckFrame::Failed { fields, .. } => fields.first().map(|f| f.field.clone()).unwrap_or_default(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(parse(r#"{"target": "x", "modle": "m"}"#).await.unwrap_err()), "modle");
        assert_eq!(field(parse(r#"{"target": 7}"#).await.unwrap_err()), "target");
        assert_eq!(field(parse(r#"{"target": "x", "ready_timeout_s": "soon"}"#).await.unwrap_err()), "ready_timeout_s");
        assert!(
            matches!(refused(parse("{").await.unwrap_err()), CheckFrame::Failed { fields, .. } if fields.is_empty())
        );
    }
}
