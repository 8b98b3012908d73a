//! Time as an injected dependency, so tests can expire things without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch, UTC.
pub type UnixTime = i64;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> UnixTime;

    /// Milliseconds since the Unix epoch, where a second is too coarse (the
    /// least time between two polls of a device code).
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        chrono::Utc::now().timestamp()
    }

    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// The system clock shifted by an adjustable offset (tests move time forward).
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset: AtomicI64,
}

impl OffsetClock {
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> UnixTime {
        chrono::Utc::now().timestamp() + self.offset.load(Ordering::SeqCst)
    }

    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.offset.load(Ordering::SeqCst) * 1000
    }
}
