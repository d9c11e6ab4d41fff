//! Test doubles that live in the test process: an SMTP sink (a tiny SMTP responder on port 0
//! that keeps every message, or refuses recipients with a given answer) and an HTTP receiver
//! (port 0, keeps every request, answers with a given status). Also compiled into the binary's
//! end-to-end tests (`#[path]`).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One message the SMTP sink accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA (headers and body).
    pub data: String,
}

impl ReceivedMail {
    /// The message with quoted-printable soft line breaks and `=XX` escapes undone (enough
    /// for the assertions: the body is ASCII or UTF-8 text).
    pub fn decoded(&self) -> String {
        let joined = self.data.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index] == b'='
                && index + 2 < bytes.len()
                && let Ok(byte) = u8::from_str_radix(&joined[index + 1..index + 3], 16)
            {
                out.push(byte);
                index += 3;
                continue;
            }
            out.push(bytes[index]);
            index += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

pub struct SmtpSink {
    pub address: SocketAddr,
    messages: mpsc::UnboundedReceiver<ReceivedMail>,
}

impl SmtpSink {
    /// A sink accepting every message.
    pub async fn spawn() -> SmtpSink {
        Self::spawn_answering_rcpt(None).await
    }

    /// A sink answering every RCPT TO with `refusal` (e.g. `"550 5.1.1 mailbox unavailable"`).
    pub async fn spawn_refusing(refusal: &'static str) -> SmtpSink {
        Self::spawn_answering_rcpt(Some(refusal)).await
    }

    async fn spawn_answering_rcpt(refusal: Option<&'static str>) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let address = listener.local_addr().expect("address");
        let (sender, messages) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read);
                    let _ = write.write_all(b"220 sink.test ESMTP ready\r\n").await;
                    let mut mail = ReceivedMail {
                        from: String::new(),
                        to: Vec::new(),
                        data: String::new(),
                    };
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let command = line.trim_end().to_owned();
                        let upper = command.to_ascii_uppercase();
                        let reply: String =
                            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                                "250-sink.test\r\n250 8BITMIME".into()
                            } else if upper.starts_with("MAIL FROM:") {
                                mail.from = command[10..].trim().to_owned();
                                "250 OK".into()
                            } else if upper.starts_with("RCPT TO:") {
                                match refusal {
                                    Some(refusal) => refusal.into(),
                                    None => {
                                        mail.to.push(command[8..].trim().to_owned());
                                        "250 OK".into()
                                    }
                                }
                            } else if upper == "DATA" {
                                let _ = write.write_all(b"354 go ahead\r\n").await;
                                let mut data = String::new();
                                loop {
                                    line.clear();
                                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                        return;
                                    }
                                    if line == ".\r\n" || line == ".\n" {
                                        break;
                                    }
                                    data.push_str(&line);
                                }
                                mail.data = data;
                                let _ = sender.send(mail.clone());
                                mail.to.clear();
                                "250 OK queued".into()
                            } else if upper == "QUIT" {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            } else if upper == "RSET" || upper == "NOOP" {
                                "250 OK".into()
                            } else {
                                "502 command not implemented".into()
                            };
                        if write
                            .write_all(format!("{reply}\r\n").as_bytes())
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        SmtpSink { address, messages }
    }

    /// The next message (waits up to 20 seconds).
    pub async fn next(&mut self) -> ReceivedMail {
        tokio::time::timeout(Duration::from_secs(20), self.messages.recv())
            .await
            .expect("a message arrives in time")
            .expect("the sink runs")
    }

    /// Every message received so far and not yet taken.
    pub fn pending(&mut self) -> Vec<ReceivedMail> {
        let mut pending = Vec::new();
        while let Ok(mail) = self.messages.try_recv() {
            pending.push(mail);
        }
        pending
    }
}

/// One request the HTTP receiver got.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub path: String,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

pub struct HttpReceiver {
    pub address: SocketAddr,
    requests: mpsc::UnboundedReceiver<ReceivedRequest>,
}

impl HttpReceiver {
    /// A receiver answering every request with `status`.
    pub async fn spawn(status: u16) -> HttpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let address = listener.local_addr().expect("address");
        let (sender, requests) = mpsc::unbounded_channel();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let sender = sender.clone();
                async move {
                    let _ = sender.send(ReceivedRequest {
                        path: uri.path().to_owned(),
                        headers,
                        body: body.to_vec(),
                    });
                    (
                        axum::http::StatusCode::from_u16(status).expect("a status"),
                        "receiver says hello",
                    )
                }
            },
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HttpReceiver { address, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn next(&mut self) -> ReceivedRequest {
        tokio::time::timeout(Duration::from_secs(20), self.requests.recv())
            .await
            .expect("a request arrives in time")
            .expect("the receiver runs")
    }

    pub fn pending(&mut self) -> Vec<ReceivedRequest> {
        let mut pending = Vec::new();
        while let Ok(request) = self.requests.try_recv() {
            pending.push(request);
        }
        pending
    }
}
