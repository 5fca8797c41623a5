//! A minimal HTTP/1.1 client over a fresh loopback connection per request, so the tests talk
//! to the sandbox exactly as any client would, without depending on `mp-http`.

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::{SANDBOX_SECRET, SANDBOX_USERNAME, Sandbox};

/// The pinned end of the test datasets, so that tests never depend on the wall clock.
pub(crate) const END: &str = "2024-03-31";

/// Starts a sandbox over `days` days ending on [`END`].
pub(crate) async fn start(events: u64, days: u32) -> Sandbox {
    let mut options = crate::SandboxOptions::new();
    options.events = events;
    options.days = days;
    options.end = Some(END.to_owned());
    Sandbox::start(options).await.expect("sandbox starts")
}

/// The `Authorization` value of the sandbox's service account.
pub(crate) fn basic() -> String {
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{SANDBOX_USERNAME}:{SANDBOX_SECRET}"));
    format!("Basic {token}")
}

/// A complete answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    /// Parses the body as JSON, failing the test with the body if it is not.
    #[track_caller]
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: &'static str,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<(String, Vec<u8>)>,
}

impl Call {
    /// An authenticated GET of `target` (path and query).
    pub(crate) fn get(target: impl Into<String>) -> Call {
        Call {
            method: "GET",
            target: target.into(),
            headers: vec![("authorization".to_owned(), basic())],
            body: None,
        }
    }

    /// An authenticated POST with a form body.
    pub(crate) fn post_form(target: impl Into<String>, form: &str) -> Call {
        Call {
            method: "POST",
            body: Some((
                "application/x-www-form-urlencoded".to_owned(),
                form.as_bytes().to_vec(),
            )),
            ..Call::get(target)
        }
    }

    /// An unauthenticated POST with a JSON body.
    pub(crate) fn post_json(target: impl Into<String>, body: &serde_json::Value) -> Call {
        Call {
            method: "POST",
            target: target.into(),
            headers: Vec::new(),
            body: Some(("application/json".to_owned(), body.to_string().into_bytes())),
        }
    }

    /// An unauthenticated GET.
    pub(crate) fn anonymous_get(target: impl Into<String>) -> Call {
        Call::get(target).auth(None)
    }

    /// Replaces the `Authorization` header (`None` removes it).
    pub(crate) fn auth(mut self, value: Option<&str>) -> Call {
        self.headers.retain(|(name, _)| name != "authorization");
        if let Some(value) = value {
            self.headers
                .push(("authorization".to_owned(), value.to_owned()));
        }
        self
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends the request and returns the response with its body still streaming.
    pub(crate) async fn open(
        &self,
        sandbox: &Sandbox,
    ) -> Result<http::Response<Incoming>, hyper::Error> {
        let stream = TcpStream::connect(sandbox.local_addr())
            .await
            .expect("connect to the sandbox");
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // The connection's own error is reported through the response body.
            let _ = connection.await;
        });
        let mut request = Request::builder()
            .method(self.method)
            .uri(&self.target)
            .header("host", sandbox.local_addr().to_string());
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let body = match &self.body {
            Some((content_type, bytes)) => {
                request = request.header("content-type", content_type);
                Full::new(Bytes::from(bytes.clone()))
            }
            None => Full::new(Bytes::new()),
        };
        sender
            .send_request(request.body(body).expect("valid request"))
            .await
    }

    /// Sends the request and reads the whole answer.
    pub(crate) async fn send(&self, sandbox: &Sandbox) -> Reply {
        let response = self.open(sandbox).await.expect("response head");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("complete body").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}

/// Sends an authenticated GET and returns the answer.
pub(crate) async fn get(sandbox: &Sandbox, target: &str) -> Reply {
    Call::get(target).send(sandbox).await
}
