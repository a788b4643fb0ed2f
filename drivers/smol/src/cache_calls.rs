//! Calls into the endpoint cache store: on smol's blocking pool, one at a time in the order
//! the core emitted them, and bounded by a deadline.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use autodiscover::{ActionId, CacheEntry};
use autodiscover_cache::CacheStore;
use smol::{Task, Timer};
use tracing::debug;

/// A cache store and the queue that orders the calls into it.
pub(crate) struct CacheCalls {
    store: Arc<dyn CacheStore>,
    queue: Arc<CallQueue>,
}

impl CacheCalls {
    pub(crate) fn new(store: Arc<dyn CacheStore>) -> Self {
        Self {
            store,
            queue: Arc::new(CallQueue::default()),
        }
    }

    pub(crate) fn store(&self) -> &Arc<dyn CacheStore> {
        &self.store
    }

    /// Reads the entry of `domain`, or returns `None` when there is none or the read does not
    /// finish by `deadline`.
    pub(crate) async fn get(
        &self,
        id: ActionId,
        domain: String,
        deadline: Instant,
    ) -> Option<CacheEntry> {
        let store = Arc::clone(&self.store);
        let task = self.queue.run(move || {
            let entry = store.get(&domain);
            drain_warnings(store.as_ref());
            entry
        });
        match finish_by(task, deadline).await {
            Some(entry) => entry,
            None => {
                debug!(%id, "cache read did not finish in time; continuing as on a miss");
                None
            }
        }
    }

    /// Stores `entry` for `domain`, or removes the domain's entry when `entry` is `None`. A
    /// write that does not finish by `deadline` goes on in the background.
    pub(crate) async fn put(
        &self,
        id: ActionId,
        domain: String,
        entry: Option<CacheEntry>,
        deadline: Instant,
    ) {
        let store = Arc::clone(&self.store);
        let task = self.queue.run(move || {
            store.put(&domain, entry);
            drain_warnings(store.as_ref());
        });
        if finish_by(task, deadline).await.is_none() {
            debug!(%id, "cache write did not finish in time; it goes on in the background");
        }
    }
}

/// Takes the store's pending warnings without logging them again. The stores log each problem
/// themselves, at WARN the first time and at DEBUG while it repeats.
fn drain_warnings(store: &dyn CacheStore) {
    for warning in store.take_warnings() {
        debug!(%warning, "cache warning, already logged by the store");
    }
}

/// Awaits `task` until `deadline`. A blocking call cannot be cancelled, so a task still
/// running then is detached and finishes on its own.
async fn finish_by<T: Send + 'static>(mut task: Task<T>, deadline: Instant) -> Option<T> {
    let outcome = smol::future::or(async { Some((&mut task).await) }, async {
        Timer::at(deadline).await;
        None
    })
    .await;
    if outcome.is_none() {
        task.detach();
    }
    outcome
}

/// Runs blocking calls one at a time, in the order [`CallQueue::run`] was called.
///
/// The driver awaits each cache call before it starts the next, but a call that outlives its
/// deadline keeps running. Without the queue, a purge left running could then land after the
/// write that the core emitted after it. Each call takes a ticket when it is queued and waits
/// on its blocking thread until the calls with earlier tickets have finished.
///
/// NOTE: a store call that never returns holds up every later call of the same client, and
/// each of those waits on a thread of smol's blocking pool until the discovery moves on
/// without it.
#[derive(Default)]
struct CallQueue {
    state: Mutex<QueueState>,
    turn_changed: Condvar,
}

#[derive(Default)]
struct QueueState {
    next_ticket: u64,
    /// The ticket of the call that may run now.
    turn: u64,
}

impl CallQueue {
    fn run<T, F>(self: &Arc<Self>, call: F) -> Task<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let ticket = {
            let mut state = self.lock();
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            ticket
        };
        let queue = Arc::clone(self);
        smol::unblock(move || {
            let mut state = queue.lock();
            while state.turn != ticket {
                state = queue
                    .turn_changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            drop(state);
            // The guard passes the turn on even when `call` panics.
            let _turn = TurnGuard { queue: &queue };
            call()
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Passes the turn to the next ticket when dropped.
struct TurnGuard<'a> {
    queue: &'a CallQueue,
}

impl Drop for TurnGuard<'_> {
    fn drop(&mut self) {
        self.queue.lock().turn += 1;
        self.queue.turn_changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn queued_calls_run_in_order() {
        let queue = Arc::new(CallQueue::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<Task<()>> = (0..8)
            .map(|index| {
                let order = Arc::clone(&order);
                queue.run(move || {
                    // The first call is the slowest, so a queue that let calls overtake it would
                    // record it last.
                    if index == 0 {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    order.lock().unwrap().push(index);
                })
            })
            .collect();
        smol::block_on(async {
            for task in tasks {
                task.await;
            }
        });
        assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn panicking_call_passes_the_turn_on() {
        let queue = Arc::new(CallQueue::default());
        let first = queue.run(|| -> u8 { panic!("a store call failed") });
        let second = queue.run(|| 2u8);
        let second = smol::block_on(second);
        assert_eq!(second, 2);
        drop(first);
    }

    #[test]
    fn call_past_deadline_is_detached() {
        let queue = Arc::new(CallQueue::default());
        let done = Arc::new(Mutex::new(false));
        let flag = Arc::clone(&done);
        let slow = queue.run(move || {
            std::thread::sleep(Duration::from_millis(200));
            *flag.lock().unwrap() = true;
        });

        let started = Instant::now();
        let outcome = smol::block_on(finish_by(slow, started + Duration::from_millis(20)));
        assert_eq!(outcome, None);
        assert!(
            started.elapsed() < Duration::from_millis(150),
            "{:?}",
            started.elapsed()
        );

        // The detached call still finishes, and a later call waits for it.
        let later = queue.run(move || *done.lock().unwrap());
        assert!(
            smol::block_on(later),
            "the later call overtook the detached one"
        );
    }
}
