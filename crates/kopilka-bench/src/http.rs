//! The load's HTTP client: HTTP/1.1 keep-alive connections to one server, each carrying one
//! request at a time, kept in a stack for the next request. It does what a till or an app
//! needs and nothing else. reqwest, which the load used before, parses a URL, builds a header
//! map and takes its pool's locks and timers for every request: in a profile of the SQLite
//! till the load generator was a fifth of the machine it shares with the server it measures
//! (docs/PERFORMANCE.md).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{
    HeaderName, HeaderValue, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST,
};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Mutex;
use tokio::net::TcpStream;

pub struct Http {
    addr: SocketAddr,
    host: HeaderValue,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl Http {
    /// A client of the server at `base`, `http://127.0.0.1:8080` (the bench only speaks to
    /// servers it started on loopback).
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let authority = base.strip_prefix("http://").unwrap_or(base);
        Ok(Self {
            addr: authority.parse()?,
            host: HeaderValue::from_str(authority)?,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<SendRequest<Full<Bytes>>>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn connection(&self) -> Option<SendRequest<Full<Bytes>>> {
        // A connection the server closed (it sheds load that way) is dropped, not reused.
        while let Some(c) = self.idle().pop() {
            if !c.is_closed() {
                return Some(c);
            }
        }
        let tcp = TcpStream::connect(self.addr).await.ok()?;
        tcp.set_nodelay(true).ok()?;
        let (send, connection) = http1::handshake(TokioIo::new(tcp)).await.ok()?;
        tokio::spawn(connection);
        Some(send)
    }

    /// Sends one request; its status and body, or `None` when the connection failed.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        json: Option<Vec<u8>>,
    ) -> Option<(u16, Bytes)> {
        let auth = bearer.map(|token| (AUTHORIZATION, format!("Bearer {token}")));
        self.exchange(method, path, auth.as_slice(), json).await
    }

    /// GETs a page as a signed-in browser does: with its cookies, asking for it gzipped.
    pub async fn get_page(&self, path: &str, cookies: &str) -> Option<(u16, Bytes)> {
        let headers = [
            (COOKIE, cookies.to_owned()),
            (ACCEPT_ENCODING, "gzip".to_owned()),
        ];
        self.exchange(Method::GET, path, &headers, None).await
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, String)],
        json: Option<Vec<u8>>,
    ) -> Option<(u16, Bytes)> {
        let mut conn = self.connection().await?;
        conn.ready().await.ok()?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.host.clone());
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let body = match json {
            Some(bytes) => {
                req = req.header(CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        let res = conn.send_request(req.body(body).ok()?).await.ok()?;
        let status = res.status().as_u16();
        let body = res.into_body().collect().await.ok()?.to_bytes();
        self.idle().push(conn);
        Some((status, body))
    }
}
