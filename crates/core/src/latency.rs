//! The network-latency model: how long a message takes on each link.
//!
//! A [`Delay`] is a distribution (none, constant, uniform or exponential,
//! in milliseconds); [`Latency`] gives every link the default delay unless a
//! per-link override says otherwise. [`LinkSchedule`] turns sampled delays
//! into delivery times that keep each link first-in first-out: a message
//! never overtakes an earlier one on the same link, however the delays fall;
//! [`DelayLine`] holds a link's items until those times. All of it is pure,
//! generic over the instant type and with the random source passed in, so a
//! seeded run draws the same delays every time, and the bridge (on tokio's
//! clock) and the simulation (on a counter) share one delay line.

use crate::model::VmId;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::ops::Add;
use std::time::Duration;

/// A delay distribution, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Delay {
    #[default]
    None,
    Constant {
        ms: f64,
    },
    Uniform {
        min_ms: f64,
        max_ms: f64,
    },
    Exponential {
        mean_ms: f64,
    },
}

/// Longest delay a setting may ask for (one hour).
pub const MAX_DELAY_MS: f64 = 3_600_000.0;

/// Each kind of delay as a settings file writes it (`kind = "..."`), with the
/// fields it takes, all in milliseconds: the words the errors are made of.
pub const DELAY_KINDS: [(&str, &[&str]); 4] = [
    ("none", &[]),
    ("constant", &["ms"]),
    ("uniform", &["min_ms", "max_ms"]),
    ("exponential", &["mean_ms"]),
];

impl Delay {
    /// Checks the parameters; the error says, in the settings file's words,
    /// what this kind of delay needs.
    pub fn validate(&self) -> Result<(), String> {
        let in_range = |v: f64| v.is_finite() && (0.0..=MAX_DELAY_MS).contains(&v);
        let (kind, ok) = match *self {
            Delay::None => ("none", true),
            Delay::Constant { ms } => ("constant", in_range(ms)),
            Delay::Uniform { min_ms, max_ms } => (
                "uniform",
                in_range(min_ms) && in_range(max_ms) && min_ms <= max_ms,
            ),
            Delay::Exponential { mean_ms } => ("exponential", in_range(mean_ms)),
        };
        if ok {
            return Ok(());
        }
        let fields = DELAY_KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(&[][..], |(_, fields)| fields);
        let order = if fields.len() == 2 {
            format!(", with {} <= {}", fields[0], fields[1])
        } else {
            String::new()
        };
        Err(format!(
            "kind = \"{kind}\" needs {} from 0 to {MAX_DELAY_MS} (milliseconds){order}",
            fields.join(" and ")
        ))
    }

    /// Draws one delay.
    pub fn sample(&self, rng: &mut impl rand::Rng) -> Duration {
        let ms = match *self {
            Delay::None => 0.0,
            Delay::Constant { ms } => ms,
            Delay::Uniform { min_ms, max_ms } if min_ms < max_ms => {
                rng.random_range(min_ms..max_ms)
            }
            Delay::Uniform { min_ms, .. } => min_ms,
            Delay::Exponential { mean_ms } => {
                let u: f64 = rng.random();
                -mean_ms * (1.0 - u).ln()
            }
        };
        Duration::from_secs_f64(ms.clamp(0.0, MAX_DELAY_MS * 10.0) / 1000.0)
    }

    #[cfg(test)]
    fn is_none(&self) -> bool {
        matches!(self, Delay::None)
    }
}

/// The delay of every link: a default and per-link overrides.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Latency {
    pub default: Delay,
    pub links: BTreeMap<(VmId, VmId), Delay>,
}

impl Latency {
    /// The delay distribution of the link `from → to`.
    pub fn of_link(&self, from: VmId, to: VmId) -> Delay {
        self.links.get(&(from, to)).copied().unwrap_or(self.default)
    }

    /// True when no link has any delay.
    #[cfg(test)]
    fn is_none(&self) -> bool {
        self.default.is_none() && self.links.values().all(Delay::is_none)
    }
}

/// Delivery times on one link, kept in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct LinkSchedule<T> {
    last: Option<T>,
}

impl<T> Default for LinkSchedule<T> {
    fn default() -> Self {
        Self { last: None }
    }
}

impl<T: Copy + Ord> LinkSchedule<T> {
    /// When a message that arrived at `arrival` with a drawn delay is
    /// delivered: after its delay, and never before the link's previous one.
    pub(crate) fn deliver_at(&mut self, arrival_plus_delay: T) -> T {
        let at = match self.last {
            Some(last) if last > arrival_plus_delay => last,
            _ => arrival_plus_delay,
        };
        self.last = Some(at);
        at
    }
}

/// What one link holds back until its delivery time, first in first out.
///
/// Items pass straight through while nothing is held and they carry no
/// delay; otherwise each waits for its own delivery time and for every item
/// ahead of it. The driver owns the timer: [`DelayLine::arm`] says when one
/// is needed, [`DelayLine::pop_due`] hands out what is due when it fires.
/// Cloned, compared and hashed by the model checker, whose state holds one
/// per link.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DelayLine<I, T> {
    schedule: LinkSchedule<I>,
    queue: VecDeque<(I, T)>,
    timer_armed: bool,
}

impl<I, T> Default for DelayLine<I, T> {
    fn default() -> Self {
        Self {
            schedule: LinkSchedule::default(),
            queue: VecDeque::new(),
            timer_armed: false,
        }
    }
}

impl<I: Copy + Ord + Add<Duration, Output = I>, T> DelayLine<I, T> {
    /// An item arrives at `now` and should wait `delay`. Returns it back
    /// when it may pass at once; otherwise it is held.
    pub fn push(&mut self, now: I, delay: Duration, item: T) -> Option<T> {
        if delay.is_zero() && self.queue.is_empty() {
            return Some(item);
        }
        let at = self.schedule.deliver_at(now + delay);
        self.queue.push_back((at, item));
        None
    }

    /// The next held item, if it is due at `now` (or `release_all`).
    pub fn pop_due(&mut self, now: I, release_all: bool) -> Option<T> {
        match self.queue.front() {
            Some(&(at, _)) if release_all || at <= now => self.queue.pop_front().map(|(_, t)| t),
            _ => None,
        }
    }

    /// When the driver should wake to pass items on: the first held item's
    /// time, unless a timer is already set. Marks the timer as set.
    pub fn arm(&mut self) -> Option<I> {
        if self.timer_armed {
            return None;
        }
        let &(at, _) = self.queue.front()?;
        self.timer_armed = true;
        Some(at)
    }

    /// The driver's timer went off.
    pub fn timer_fired(&mut self) {
        self.timer_armed = false;
    }

    /// The items held, the next to leave first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.queue.iter().map(|(_, item)| item)
    }

    /// Items held.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    /// A VM id written in a test.
    fn id(n: u32) -> VmId {
        VmId::literal(n)
    }

    #[test]
    fn each_distribution_stays_in_its_range() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(Delay::None.sample(&mut rng), Duration::ZERO);
        assert_eq!(
            Delay::Constant { ms: 25.0 }.sample(&mut rng),
            Duration::from_millis(25)
        );
        let uniform = Delay::Uniform {
            min_ms: 5.0,
            max_ms: 10.0,
        };
        let exponential = Delay::Exponential { mean_ms: 20.0 };
        let mut total = Duration::ZERO;
        for _ in 0..10_000 {
            let d = uniform.sample(&mut rng);
            assert!(d >= Duration::from_millis(5) && d < Duration::from_millis(10));
            total += exponential.sample(&mut rng);
        }
        let mean_ms = total.as_secs_f64() * 1000.0 / 10_000.0;
        assert!((18.0..22.0).contains(&mean_ms), "mean {mean_ms}");
    }

    #[test]
    fn a_uniform_delay_covers_its_whole_range() {
        let mut rng = StdRng::seed_from_u64(2);
        let uniform = Delay::Uniform {
            min_ms: 5.0,
            max_ms: 10.0,
        };
        let draws: Vec<f64> = (0..10_000)
            .map(|_| uniform.sample(&mut rng).as_secs_f64() * 1000.0)
            .collect();
        let mean_ms = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((7.3..7.7).contains(&mean_ms), "mean {mean_ms}");
        assert!(draws.iter().any(|&d| d < 5.5) && draws.iter().any(|&d| d > 9.5));
    }

    #[test]
    fn a_uniform_delay_with_equal_bounds_is_that_constant() {
        let mut rng = StdRng::seed_from_u64(3);
        let fixed = Delay::Uniform {
            min_ms: 7.0,
            max_ms: 7.0,
        };
        assert!(fixed.validate().is_ok());
        for _ in 0..10 {
            assert_eq!(fixed.sample(&mut rng), Duration::from_millis(7));
        }
    }

    /// An exponential delay keeps its long tail (a mean of an hour often
    /// draws several hours), but no draw exceeds ten times the longest
    /// delay a setting may ask for.
    #[test]
    fn exponential_delays_keep_a_long_tail_under_a_ten_hour_cap() {
        let mut rng = StdRng::seed_from_u64(4);
        let longest = Delay::Exponential {
            mean_ms: MAX_DELAY_MS,
        };
        let hour = Duration::from_secs(3_600);
        let draws: Vec<Duration> = (0..20_000).map(|_| longest.sample(&mut rng)).collect();
        assert!(draws.iter().all(|&d| d <= 10 * hour));
        assert!(draws.iter().filter(|&&d| d > 2 * hour).count() > 2_000);
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(Delay::Constant { ms: -1.0 }.validate().is_err());
        assert!(Delay::Constant { ms: f64::NAN }.validate().is_err());
        let backwards = Delay::Uniform {
            min_ms: 9.0,
            max_ms: 1.0,
        };
        assert!(backwards.validate().is_err());
        assert!(Delay::Exponential { mean_ms: 3.0 }.validate().is_ok());
        assert!(Delay::Exponential { mean_ms: -3.0 }.validate().is_err());
        // Each bound of a uniform delay is checked on its own.
        let below = Delay::Uniform {
            min_ms: -1.0,
            max_ms: 5.0,
        };
        assert!(below.validate().is_err());
        let above = Delay::Uniform {
            min_ms: 1.0,
            max_ms: MAX_DELAY_MS + 1.0,
        };
        assert!(above.validate().is_err());
        assert!(Delay::Constant { ms: MAX_DELAY_MS }.validate().is_ok());
        assert!(Delay::None.validate().is_ok());
    }

    #[test]
    fn refusals_say_what_the_kind_needs_in_the_settings_words() {
        assert_eq!(
            Delay::Constant { ms: -5.0 }.validate().unwrap_err(),
            "kind = \"constant\" needs ms from 0 to 3600000 (milliseconds)"
        );
        let backwards = Delay::Uniform {
            min_ms: 9.0,
            max_ms: 1.0,
        };
        assert_eq!(
            backwards.validate().unwrap_err(),
            "kind = \"uniform\" needs min_ms and max_ms from 0 to 3600000 (milliseconds), \
             with min_ms <= max_ms"
        );
        let huge = Delay::Exponential { mean_ms: 1e300 };
        assert!(huge
            .validate()
            .unwrap_err()
            .starts_with("kind = \"exponential\" needs mean_ms"));
    }

    #[test]
    fn links_keep_their_order_whatever_the_delays() {
        let mut link = LinkSchedule::default();
        assert_eq!(link.deliver_at(50), 50);
        // A later message with a shorter delay waits for the earlier one.
        assert_eq!(link.deliver_at(20), 50);
        assert_eq!(link.deliver_at(70), 70);
    }

    #[test]
    fn the_delay_line_passes_undelayed_items_through_when_nothing_is_held() {
        let mut line: DelayLine<Duration, u32> = DelayLine::default();
        assert_eq!(line.push(Duration::ZERO, Duration::ZERO, 1), Some(1));
        assert!(line.is_empty());
        assert_eq!(line.arm(), None);
    }

    #[test]
    fn the_delay_line_holds_items_until_due_and_in_order() {
        let ms = Duration::from_millis;
        let mut line: DelayLine<Duration, u32> = DelayLine::default();
        assert_eq!(line.push(ms(0), ms(50), 1), None);
        // No delay, but something is held: it waits its turn.
        assert_eq!(line.push(ms(10), ms(0), 2), None);
        assert_eq!(line.push(ms(20), ms(5), 3), None);
        assert_eq!(line.len(), 3);
        assert_eq!(line.arm(), Some(ms(50)));
        assert_eq!(line.arm(), None, "one timer at a time");
        assert_eq!(line.pop_due(ms(49), false), None);
        line.timer_fired();
        assert_eq!(line.pop_due(ms(50), false), Some(1));
        assert_eq!(line.pop_due(ms(50), false), Some(2));
        assert_eq!(line.pop_due(ms(50), false), Some(3));
        assert_eq!(line.pop_due(ms(50), false), None);
        assert_eq!(line.arm(), None);
    }

    #[test]
    fn the_delay_line_asks_for_a_new_timer_while_items_are_still_held() {
        let ms = Duration::from_millis;
        let mut line: DelayLine<Duration, u32> = DelayLine::default();
        line.push(ms(0), ms(50), 1);
        line.push(ms(0), ms(80), 2);
        assert!(!line.is_empty());
        assert_eq!(line.arm(), Some(ms(50)));
        line.timer_fired();
        assert_eq!(line.pop_due(ms(50), false), Some(1));
        assert_eq!(line.pop_due(ms(50), false), None, "not due before 80 ms");
        assert_eq!(line.len(), 1);
        assert_eq!(line.arm(), Some(ms(80)));
    }

    #[test]
    fn released_delay_lines_hand_out_everything_at_once() {
        let ms = Duration::from_millis;
        let mut line: DelayLine<Duration, u32> = DelayLine::default();
        line.push(ms(0), ms(500), 1);
        line.push(ms(0), ms(900), 2);
        assert_eq!(line.pop_due(ms(1), true), Some(1));
        assert_eq!(line.pop_due(ms(1), true), Some(2));
        assert!(line.is_empty());
    }

    #[test]
    fn overrides_apply_to_their_link_only() {
        let mut latency = Latency {
            default: Delay::Constant { ms: 1.0 },
            ..Latency::default()
        };
        latency
            .links
            .insert((id(1), id(2)), Delay::Constant { ms: 9.0 });
        assert_eq!(latency.of_link(id(1), id(2)), Delay::Constant { ms: 9.0 });
        assert_eq!(latency.of_link(id(2), id(1)), Delay::Constant { ms: 1.0 });
        assert!(!latency.is_none());
        assert!(Latency::default().is_none());
    }

    #[test]
    fn one_delayed_link_is_enough_for_the_latency_to_matter() {
        let mut latency = Latency::default();
        latency.links.insert((id(2), id(1)), Delay::None);
        assert!(
            latency.is_none(),
            "an override without delay changes nothing"
        );
        latency
            .links
            .insert((id(1), id(2)), Delay::Constant { ms: 3.0 });
        assert!(!latency.is_none());
    }

    #[test]
    fn delays_parse_from_toml() {
        let parse = |text: &str| toml::from_str::<Delay>(text);
        assert_eq!(parse("kind = \"none\"").unwrap(), Delay::None);
        assert_eq!(
            parse("kind = \"uniform\"\nmin_ms = 1\nmax_ms = 2").unwrap(),
            Delay::Uniform {
                min_ms: 1.0,
                max_ms: 2.0
            }
        );
        assert!(parse("kind = \"gaussian\"").is_err());
        assert!(parse("kind = \"constant\"\nms = 1\nextra = 2").is_err());
    }
}
