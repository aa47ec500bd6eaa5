//! Running the cloud to quiescence: what a replay waits for after each step, and how it moves time.
//!
//! A step is settled when every consequence it caused has reached the journal or is scheduled for a
//! later cloud time: each RTMP connection the ingest accepted has finished (its end journaled, its
//! events queued) unless the app still pushes on it, no push is being cut, and no callback attempt is on
//! the wire or due now. Each of these is a signal from the service that did the work, never a quiet
//! window, so a loaded machine only makes a step slower, not different.

#![warn(missing_docs)]

use std::time::Duration;

use tokio::time::Instant;

use super::{CallbackTime, Cloud};

/// What was still running when a settle bound passed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unsettled {
    /// RTMP connections the ingest still serves.
    pub rtmp_connections: usize,
    /// How many of them the app still pushes on.
    pub live_pushes: usize,
    /// Pushes being cut whose session has not ended.
    pub cuts: usize,
    /// Callback events queued or on the wire.
    pub callbacks: usize,
}

impl std::error::Error for Unsettled {}

impl std::fmt::Display for Unsettled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if self.rtmp_connections != self.live_pushes {
            parts.push(format!(
                "{} RTMP connection(s) still open at the ingest while the app pushes on {}",
                self.rtmp_connections, self.live_pushes
            ));
        }
        if self.cuts > 0 {
            parts.push(format!("{} cut push(es) not ended", self.cuts));
        }
        if self.callbacks > 0 {
            parts.push(format!("{} callback event(s) undelivered", self.callbacks));
        }
        if parts.is_empty() {
            parts.push("nothing (it settled just as the bound passed)".into());
        }
        write!(f, "{}", parts.join(", "))
    }
}

impl Cloud {
    /// Waits until the consequences of what just happened are journaled or scheduled. `live_pushes`
    /// says how many RTMP connections the client side still holds open on purpose (it is read again
    /// each round: a push the server cut ends on both sides).
    pub async fn settle(
        &self,
        live_pushes: impl Fn() -> usize,
        bound: Duration,
    ) -> Result<(), Unsettled> {
        let deadline = Instant::now() + bound;
        let lvb = &self.services.lvb;
        // Connections end (and queue their events) in their own tasks; every end wakes this loop. The
        // client side's count is re-read on a short tick since it has no signal of its own.
        loop {
            if lvb.rtmp_connections() == live_pushes() && lvb.cuts_in_progress() == 0 {
                break;
            }
            if Instant::now() >= deadline {
                return Err(self.unsettled(live_pushes()));
            }
            lvb.rtmp_changed(Duration::from_millis(10)).await;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if lvb.callbacks_quiescent(left).await {
            Ok(())
        } else {
            Err(self.unsettled(live_pushes()))
        }
    }

    /// Moves the cloud clock `secs` ahead. With cloud-time callbacks, each retry that falls due on
    /// the way goes out at its own time, in order, as it would have while the time passed.
    pub async fn advance_clock(
        &self,
        secs: i64,
        live_pushes: impl Fn() -> usize,
        bound: Duration,
    ) -> Result<(), Unsettled> {
        let clock = &self.ctx.clock;
        let target = clock.offset() + secs;
        if self.ctx.options.callback_time == CallbackTime::Cloud {
            let deadline = Instant::now() + bound;
            while let Some(due) = self.services.lvb.next_callback_due() {
                if due > target {
                    break;
                }
                clock.set_offset(due.max(clock.offset()));
                self.services.lvb.clock_moved();
                self.settle(
                    &live_pushes,
                    deadline.saturating_duration_since(Instant::now()),
                )
                .await?;
            }
            clock.set_offset(target);
            self.services.lvb.clock_moved();
            return self
                .settle(
                    &live_pushes,
                    deadline.saturating_duration_since(Instant::now()),
                )
                .await;
        }
        clock.advance(secs);
        self.settle(live_pushes, bound).await
    }

    /// Delivers every queued callback, retries included, or gives it up. With cloud-time callbacks the
    /// clock moves to each due retry in turn, so this costs no wall time.
    pub async fn drain_callbacks(
        &self,
        live_pushes: impl Fn() -> usize,
        bound: Duration,
    ) -> Result<(), Unsettled> {
        let lvb = &self.services.lvb;
        if self.ctx.options.callback_time == CallbackTime::Real {
            return if lvb.callbacks_idle(bound).await {
                Ok(())
            } else {
                Err(self.unsettled(live_pushes()))
            };
        }
        let deadline = Instant::now() + bound;
        let clock = &self.ctx.clock;
        loop {
            self.settle(
                &live_pushes,
                deadline.saturating_duration_since(Instant::now()),
            )
            .await?;
            match lvb.next_callback_due() {
                Some(due) => {
                    clock.set_offset(due.max(clock.offset()));
                    lvb.clock_moved();
                }
                None if lvb.callbacks_pending() == 0 => return Ok(()),
                None if Instant::now() >= deadline => return Err(self.unsettled(live_pushes())),
                // An attempt is on the wire: settling again waits for it.
                None => {}
            }
        }
    }

    fn unsettled(&self, live_pushes: usize) -> Unsettled {
        let lvb = &self.services.lvb;
        Unsettled {
            rtmp_connections: lvb.rtmp_connections(),
            live_pushes,
            cuts: lvb.cuts_in_progress(),
            callbacks: lvb.callbacks_pending(),
        }
    }
}
