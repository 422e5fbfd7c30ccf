//! Accepting connections within limits: at most `max_total` open at once,
//! and `max_per_address` from one client address. A connection over a
//! limit is closed at once (the client sees a reset, and retries
//! elsewhere or later) instead of queueing in the kernel's backlog, and a
//! slot is given back when its connection closes, however it closes.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Connections accepted but not yet taken by the server.
const ACCEPTED_BUFFER: usize = 64;
/// Refusals are logged at most this often.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// Open connections per client address.
#[derive(Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

/// Gives back an address's slot when its connection closes.
struct AddressSlot {
    table: Arc<PerAddress>,
    address: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut table = self.table.0.lock().expect("connections lock");
        if let Some(open) = table.get_mut(&self.address) {
            *open -= 1;
            if *open == 0 {
                table.remove(&self.address);
            }
        }
    }
}

/// An accepted connection with its slots.
pub struct LimitedStream {
    stream: TcpStream,
    _total: OwnedSemaphorePermit,
    _address: AddressSlot,
}

impl Connected for LimitedStream {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for LimitedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The connections of `listener` within the limits, with Nagle's algorithm
/// off (a small response is sent at once instead of waiting for the
/// client's delayed ACK: 40 ms a call on Linux). Accepting stops when the
/// server drops the stream.
pub fn accept(
    listener: TcpListener,
    max_total: usize,
    max_per_address: usize,
) -> ReceiverStream<io::Result<LimitedStream>> {
    let (sender, receiver) = mpsc::channel(ACCEPTED_BUFFER);
    tokio::spawn(async move {
        let total = Arc::new(Semaphore::new(max_total));
        let per_address = Arc::new(PerAddress::default());
        let mut refused: u64 = 0;
        let mut logged = Instant::now() - REFUSAL_LOG_EVERY;
        loop {
            let (stream, peer) = tokio::select! {
                _ = sender.closed() => return,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: wait, do not spin.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let Some(limited) = admit(stream, peer.ip(), &total, &per_address, max_per_address) else {
                refused += 1;
                if logged.elapsed() >= REFUSAL_LOG_EVERY {
                    tracing::warn!(refused, max_total, max_per_address, "connections refused over the limits");
                    logged = Instant::now();
                }
                continue;
            };
            if sender.send(Ok(limited)).await.is_err() {
                return;
            }
        }
    });
    ReceiverStream::new(receiver)
}

fn admit(
    stream: TcpStream,
    address: IpAddr,
    total: &Arc<Semaphore>,
    per_address: &Arc<PerAddress>,
    max_per_address: usize,
) -> Option<LimitedStream> {
    let total = total.clone().try_acquire_owned().ok()?;
    {
        let mut table = per_address.0.lock().expect("connections lock");
        let open = table.entry(address).or_insert(0);
        if *open >= max_per_address {
            return None;
        }
        *open += 1;
    }
    let _ = stream.set_nodelay(true);
    Some(LimitedStream { stream, _total: total, _address: AddressSlot { table: per_address.clone(), address } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio_stream::StreamExt;

    #[tokio::test]
    async fn connections_over_a_limit_are_closed_and_slots_come_back() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut accepted = accept(listener, 10, 2);
        let _a = TcpStream::connect(address).await.unwrap();
        let _b = TcpStream::connect(address).await.unwrap();
        let first = accepted.next().await.unwrap().unwrap();
        let _second = accepted.next().await.unwrap().unwrap();
        let mut third = TcpStream::connect(address).await.unwrap();
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf)).await.unwrap();
        assert!(matches!(read, Ok(0) | Err(_)), "the third connection from one address is closed");
        drop(first);
        let _fourth = TcpStream::connect(address).await.unwrap();
        let fourth = tokio::time::timeout(Duration::from_secs(5), accepted.next()).await.unwrap();
        assert!(fourth.unwrap().is_ok(), "a closed connection gives its slot back");
    }
}
