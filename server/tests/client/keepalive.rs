//! llama.cpp's server answers a streamed request with `Keep-Alive: timeout=5, max=100` and then closes the socket
//! (its stream callback returns "no more data", which cpp-httplib treats as a cancel). A pooled client that sends
//! the next request on that socket gets "connection closed before message completed" — a failure the server never
//! saw. The client sends such a request once more on a fresh connection and counts it as retried, not failed.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use protocol::spec::Endpoint;
use server::engine::target::{NoTap, Target};

use crate::helpers::{prompt, target};

/// A server that answers each connection's first request with a short SSE stream, announcing keep-alive, and closes
/// the connection when the next request arrives on it, unanswered — as a server closing a socket at the moment the
/// client reuses it. Counts the connections it accepted.
async fn closing_server() -> (String, Arc<AtomicU32>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicU32::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                // Read the request head and its body (Content-Length).
                loop {
                    let Ok(n) = sock.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let len = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if got.len() >= head_end + 4 + len {
                            break;
                        }
                    }
                }
                let events = [
                    r#"{"choices":[{"index":0,"text":"one"}]}"#,
                    r#"{"choices":[{"index":0,"text":" two","finish_reason":"length"}]}"#,
                    r#"{"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2}}"#,
                ];
                let mut body = String::new();
                for e in events {
                    body.push_str(&format!("data: {e}\n\n"));
                }
                body.push_str("data: [DONE]\n\n");
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nKeep-Alive: timeout=5, max=100\r\n\
                     Content-Length: {}\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
                let _ = sock.flush().await;
                // The client pools the connection; its next request on it is dropped with the connection.
                let _ = sock.read(&mut buf).await;
                drop(sock);
            });
        }
    });
    (base, accepted)
}

#[tokio::test]
async fn a_request_on_a_connection_the_server_closed_is_resent_not_failed() {
    let (base, accepted) = closing_server().await;
    let t = target(&base, Endpoint::Completions, true);
    let first = t.execute(&prompt(2), &NoTap).await;
    assert!(first.error.is_none(), "{:?}", first.error);
    assert!(!first.retried);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // The request goes out on the pooled connection, which the server closes unanswered; it is resent.
    let second = t.execute(&prompt(2), &NoTap).await;
    assert!(second.error.is_none(), "a request closed unanswered is not a failure: {:?}", second.error);
    assert!(second.retried, "and it is marked as retried");
    assert_eq!(second.output_tokens, 2);
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "the resend used a new connection");
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(120)).await;
        let r = t.execute(&prompt(2), &NoTap).await;
        assert!(r.error.is_none(), "{:?}", r.error);
    }
}
