//! Worker threads that perform actions, and the cancellation of their sockets.
//!
//! Every outstanding action runs on its own thread and sends its event over a channel. When a
//! discovery ends, the driver does not join the threads still running: it cancels them, which
//! shuts their TCP sockets down so that a blocked read or write returns at once, and drops
//! their results. A thread blocked elsewhere (a DNS wait, a cache file lock) still ends by
//! itself, because every socket operation has a timeout bounded by the request's deadline.

use std::collections::BTreeMap;
use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use tracing::trace;

/// The cancellation state shared by the driver and the workers of one discovery.
#[derive(Debug, Default)]
pub(crate) struct Cancel {
    cancelled: AtomicBool,
    /// Clones of the open sockets, so that `cancel` can unblock the threads using them.
    sockets: Mutex<BTreeMap<u64, TcpStream>>,
    next_key: AtomicU64,
}

impl Cancel {
    /// Returns whether the discovery has ended and no more IO should start.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Marks the discovery as ended and shuts down every registered socket.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        let sockets = std::mem::take(&mut *self.lock());
        if !sockets.is_empty() {
            trace!(
                sockets = sockets.len(),
                "shutting down abandoned connections"
            );
        }
        for socket in sockets.values() {
            // The peer may have closed the socket already; there is nothing left to do then.
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// Registers `stream`, so that [`Cancel::cancel`] shuts it down, until the returned guard
    /// is dropped. A stream registered after the cancellation is shut down at once.
    pub(crate) fn register(self: &Arc<Self>, stream: &TcpStream) -> io::Result<Registration> {
        let clone = stream.try_clone()?;
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(key, clone);
        // The flag is read after inserting, so a concurrent `cancel` either finds the socket
        // in the map or has already set the flag.
        if self.is_cancelled() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        Ok(Registration {
            cancel: Arc::clone(self),
            key,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, TcpStream>> {
        self.sockets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Keeps a socket registered with a [`Cancel`]; dropping it removes the registration.
#[derive(Debug)]
pub(crate) struct Registration {
    cancel: Arc<Cancel>,
    key: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.cancel.lock().remove(&self.key);
    }
}

/// Counts the running worker threads of one client.
#[derive(Debug, Clone, Default)]
pub(crate) struct WorkerCount(Arc<AtomicUsize>);

impl WorkerCount {
    /// Returns how many workers are running.
    pub(crate) fn running(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    /// Starts `job` on a new thread named `name`, counted until it returns.
    pub(crate) fn spawn(&self, name: &str, job: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let guard = WorkerGuard::new(&self.0);
        thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _guard = guard;
                job();
            })?;
        Ok(())
    }
}

/// Decrements the worker count when the worker ends, or when it never started.
struct WorkerGuard(Arc<AtomicUsize>);

impl WorkerGuard {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(count))
    }
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    #[test]
    fn worker_count_drops_after_job() {
        let workers = WorkerCount::default();
        let (sender, receiver) = mpsc::channel();
        let (release, wait) = mpsc::channel::<()>();
        workers
            .spawn("test-worker", move || {
                let _ = wait.recv();
                sender.send(()).unwrap();
            })
            .unwrap();
        assert_eq!(workers.running(), 1);

        release.send(()).unwrap();
        receiver.recv().unwrap();
        let started = Instant::now();
        while workers.running() != 0 {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "worker never ended"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn cancel_unblocks_read() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, _) = listener.accept().unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();

        let cancel = Arc::new(Cancel::default());
        let registration = cancel.register(&client).unwrap();
        let canceller = Arc::clone(&cancel);
        let started = Instant::now();
        let handle = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            canceller.cancel();
        });

        let mut buffer = [0u8; 16];
        let result = client.read(&mut buffer);
        handle.join().unwrap();
        drop(registration);
        assert!(matches!(result, Ok(0) | Err(_)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(cancel.is_cancelled());
    }

    #[test]
    fn register_after_cancel_shuts_down() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let cancel = Arc::new(Cancel::default());
        cancel.cancel();

        let _registration = cancel.register(&client).unwrap();
        let mut buffer = [0u8; 16];
        client
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let read = client.read(&mut buffer).unwrap();
        assert_eq!(read, 0);
    }
}
