//! The warnings a store keeps until its caller takes them.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use crate::error::CacheError;

/// The maximum number of warnings a store keeps. When a caller never takes them, the oldest
/// are dropped, so a file that stays broken cannot grow the list without bound.
const MAX_PENDING: usize = 64;

/// Warnings recorded by a store and not yet taken.
#[derive(Debug, Default)]
pub(crate) struct WarningLog {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    pending: VecDeque<CacheError>,
    /// The message of the last warning logged at WARN level, so that a file that stays broken
    /// logs one WARN line and then DEBUG lines until a write succeeds.
    last_logged: Option<String>,
}

impl WarningLog {
    /// Logs `warning` and keeps it for [`take`](Self::take).
    pub(crate) fn record(&self, warning: CacheError) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);

        let message = warning.to_string();
        if state.last_logged.as_deref() == Some(message.as_str()) {
            tracing::debug!(warning = %message, "endpoint cache problem (repeated)");
        } else {
            tracing::warn!(warning = %message, "endpoint cache problem");
            state.last_logged = Some(message);
        }

        if state.pending.len() == MAX_PENDING {
            state.pending.pop_front();
        }
        state.pending.push_back(warning);
    }

    /// Forgets the last logged message, so that the next problem logs at WARN again. Stores
    /// call this after a successful write, because the file is sound at that point.
    pub(crate) fn reset_repeats(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.last_logged = None;
    }

    /// Removes and returns the kept warnings, oldest first.
    pub(crate) fn take(&self) -> Vec<CacheError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.pending.drain(..).collect()
    }
}
