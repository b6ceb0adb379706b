//! A VM's alarm clock in real time: a Linux `timerfd` armed at the absolute
//! instant of the next tick, awaited on the actor's own thread.
//!
//! tokio's timer keeps time on a 1 ms wheel and its driver sleeps in whole
//! milliseconds, so a `sleep_until` wakes up to about 2 ms after its
//! deadline; BENCHMARKS.md measured every tick 1 to 2 ms late for that
//! reason. A timerfd fires on the kernel's high-resolution timer, and the
//! runtime's own I/O driver, which is already waiting in `epoll` on the
//! actor thread, sees it become readable and wakes the VM's future right
//! there: no second thread, no cross-thread wake-up (the alarm thread that
//! was tried before paid for one, and gained nothing). One timerfd per VM,
//! re-armed for each wait.
//!
//! Virtual time keeps tokio's paused timer: a timerfd counts real time.

use actix::clock::Instant;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use tokio::io::unix::AsyncFd;

/// A one-shot timer on `CLOCK_MONOTONIC` (the clock behind `Instant`).
pub(crate) struct Alarm {
    fd: AsyncFd<OwnedFd>,
}

impl Alarm {
    /// A new, disarmed alarm, registered with the current runtime.
    pub fn new() -> io::Result<Self> {
        // SAFETY: timerfd_create has no memory effects; its result is
        // checked before it is owned.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: the `OwnedFd` is valid, owned here, and closed only when
        // the `AsyncFd` drops it, after deregistering it.
        let fd = unsafe { AsyncFd::register(fd)? };
        Ok(Self { fd })
    }

    /// Waits until `deadline` (at once if it has passed).
    pub(crate) async fn sleep_until(&self, deadline: Instant) -> io::Result<()> {
        self.arm(deadline)?;
        loop {
            let mut ready = self.fd.readable().await?;
            let mut expirations = [0u8; 8];
            // SAFETY: reads at most 8 bytes into an 8-byte buffer.
            let read = unsafe {
                libc::read(
                    self.fd.get_ref().as_raw_fd(),
                    expirations.as_mut_ptr().cast(),
                    expirations.len(),
                )
            };
            if read == 8 {
                return Ok(());
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::WouldBlock {
                return Err(error);
            }
            ready.clear_ready();
        }
    }

    /// Arms the timer at `deadline` on the monotonic clock, as an absolute
    /// time, so the wait cannot drift by the time it took to arm it.
    fn arm(&self, deadline: Instant) -> io::Result<()> {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: writes one timespec.
        if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // `Instant` is CLOCK_MONOTONIC: the deadline is now plus what is left.
        let left = deadline.saturating_duration_since(Instant::now());
        let mut at_ns = now.tv_nsec as u64 + u64::from(left.subsec_nanos());
        let mut at_s = now.tv_sec as u64 + left.as_secs() + at_ns / 1_000_000_000;
        at_ns %= 1_000_000_000;
        if at_s == 0 && at_ns == 0 {
            // A zero it_value disarms; one nanosecond is "already due".
            at_ns = 1;
        }
        at_s = at_s.min(i64::MAX as u64);
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: at_s as libc::time_t,
                tv_nsec: at_ns as libc::c_long,
            },
        };
        // SAFETY: `spec` is a valid itimerspec; the old value is not asked for.
        let set = unsafe {
            libc::timerfd_settime(
                self.fd.get_ref().as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if set != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn it_wakes_at_its_deadline_not_before_and_at_once_when_past() {
        let alarm = Alarm::new().unwrap();
        for wait_us in [300u64, 1_500, 20_000] {
            let deadline = Instant::now() + Duration::from_micros(wait_us);
            alarm.sleep_until(deadline).await.unwrap();
            assert!(Instant::now() >= deadline, "woke before {wait_us} us");
        }
        let past = Instant::now();
        tokio::time::sleep(Duration::from_millis(2)).await;
        let begun = Instant::now();
        alarm.sleep_until(past).await.unwrap();
        // "At once": well under the 2 ms that have passed (a busy machine
        // may still take a moment to run the task).
        assert!(begun.elapsed() < Duration::from_secs(1));
    }
}
