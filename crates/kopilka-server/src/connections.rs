//! A bound on the client connections held open at once. Each open connection costs the
//! server its buffers and a task, whether or not it has a request in flight: under an
//! overload, tills and apps that give up waiting open new connections, and the memory grew
//! with them (196 MiB at 6,000 connections in the bench's 4,000/s run). Past the bound a new
//! connection waits in the kernel's accept queue until one closes; a connection with nothing
//! read or written for `idle` is closed, so clients that keep connections open between
//! requests cannot hold every place (as nginx's `worker_connections` and
//! `keepalive_timeout`).

use axum::serve::Listener;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

pub struct BoundedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    idle: Duration,
}

impl BoundedListener {
    /// `idle` must be longer than any request may take: a connection waiting for its answer
    /// reads and writes nothing meanwhile.
    pub fn new(inner: TcpListener, max_connections: usize, idle: Duration) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max_connections)),
            idle,
        }
    }
}

impl Listener for BoundedListener {
    type Io = BoundedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed.
        let permit = Arc::clone(&self.permits).acquire_owned().await;
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        let stream = BoundedStream {
            stream,
            idle: self.idle,
            last_active: Instant::now(),
            deadline: Box::pin(tokio::time::sleep(self.idle)),
            _permit: permit.ok(),
        };
        (stream, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that gives its place back when it closes, and reads as closed by the client
/// once it has been idle too long.
pub struct BoundedStream {
    stream: TcpStream,
    idle: Duration,
    last_active: Instant,
    /// Armed lazily: reads and writes only note the time, the timer moves when it fires.
    deadline: Pin<Box<Sleep>>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl BoundedStream {
    /// Whether the connection has been idle too long; if not, the timer is set to wake this
    /// task when it would be.
    fn idle_too_long(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.deadline.as_mut().poll(cx).is_pending() {
                return false;
            }
            let until = self.last_active + self.idle;
            if until <= Instant::now() {
                return true;
            }
            self.deadline.as_mut().reset(until);
        }
    }
}

impl AsyncRead for BoundedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(read) => {
                self.last_active = Instant::now();
                Poll::Ready(read)
            }
            // Nothing read into `buf`: the server sees the client close the connection.
            Poll::Pending if self.idle_too_long(cx) => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for BoundedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.last_active = Instant::now();
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.last_active = Instant::now();
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
