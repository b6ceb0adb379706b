//! RFC 3339 timestamps to and from microseconds since the Unix epoch: the
//! log contract's time format, in one place for the writer and the readers.
//!
//! Every log line starts with one (`2026-11-25T17:09:39.802378Z`), so parsing them is on the hot
//! path of a million-line analysis: this is a fixed-layout parser that allocates nothing, instead
//! of a general date library. Offsets other than `Z` are still accepted so hand-edited logs work.
//! [`Rfc3339`] and the `push_*` functions format the other way: for the log lines themselves
//! (`logging.rs`), `summary.json`, and (without going through `fmt`, which was most of the CSV's
//! cost) `events.csv`.

use std::fmt;

/// Microseconds since the Unix epoch: the time an event happened.
pub type EventTime = u64;

/// The current wall-clock time in microseconds since the Unix epoch.
pub fn wall_clock_micros() -> EventTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as EventTime)
}

/// Microseconds since 1970-01-01T00:00:00Z of an RFC 3339 timestamp, or `None` if `text` is not
/// one. Fractions finer than a microsecond are truncated.
pub fn parse_micros(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }

    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                micros = micros * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..6 {
            micros *= 10;
        }
    }
    let offset_s = match b.get(i) {
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            if b.get(i + 3) != Some(&b':') {
                return None;
            }
            let hh = digits(b, i + 1, 2)?;
            let mm = digits(b, i + 4, 2)?;
            i += 6;
            let off = hh * 3600 + mm * 60;
            if sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    if i != b.len() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    Some(secs * 1_000_000 + micros)
}

/// Formats microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the log's own layout.
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339(pub i64);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Vec::with_capacity(32);
        push_rfc3339(&mut buf, self.0);
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

/// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ` for `micros` to `buf`: the fast path for `events.csv`,
/// which formats a million of these.
pub fn push_rfc3339(buf: &mut Vec<u8>, micros: i64) {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    if (0..10_000).contains(&y) {
        push_padded(buf, y as u64, 4);
    } else {
        buf.extend_from_slice(y.to_string().as_bytes());
    }
    buf.push(b'-');
    push_padded(buf, m as u64, 2);
    buf.push(b'-');
    push_padded(buf, d as u64, 2);
    buf.push(b'T');
    push_padded(buf, (sod / 3600) as u64, 2);
    buf.push(b':');
    push_padded(buf, (sod / 60 % 60) as u64, 2);
    buf.push(b':');
    push_padded(buf, (sod % 60) as u64, 2);
    buf.push(b'.');
    push_padded(buf, frac as u64, 6);
    buf.push(b'Z');
}

/// [`push_rfc3339`] for times that mostly fall in the same second as the one before, as a
/// running log's do: the date and time up to the second's dot are worked out once per second and
/// copied after that, leaving six digits to format per line.
#[derive(Debug, Clone, Default)]
pub struct Rfc3339Cache {
    /// The second `prefix` spells, as whole seconds since the epoch.
    second: Option<i64>,
    /// `YYYY-MM-DDTHH:MM:SS.`
    prefix: Vec<u8>,
}

impl Rfc3339Cache {
    /// Appends exactly what [`push_rfc3339`] appends for `micros`.
    pub(crate) fn push(&mut self, buf: &mut Vec<u8>, micros: i64) {
        let second = micros.div_euclid(1_000_000);
        if self.second != Some(second) {
            self.prefix.clear();
            push_rfc3339(&mut self.prefix, second * 1_000_000);
            // Keep up to and with the dot: drop `000000Z`.
            self.prefix.truncate(self.prefix.len() - 7);
            self.second = Some(second);
        }
        buf.extend_from_slice(&self.prefix);
        push_padded(buf, micros.rem_euclid(1_000_000) as u64, 6);
        buf.push(b'Z');
    }
}

/// Appends `v` in decimal, zero-padded to at least `width` digits.
pub fn push_padded(buf: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let start = i.min(digits.len().saturating_sub(width));
    buf.extend_from_slice(&digits[start..]);
}

/// Appends a signed microsecond duration as seconds with six decimals (`-0.000250`).
pub fn push_seconds(buf: &mut Vec<u8>, micros: i64) {
    if micros < 0 {
        buf.push(b'-');
    }
    let abs = micros.unsigned_abs();
    push_padded(buf, abs / 1_000_000, 1);
    buf.push(b'.');
    push_padded(buf, abs % 1_000_000, 6);
}

fn digits(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let mut v = 0i64;
    for &c in b.get(at..at + len)? {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn chrono_micros(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    proptest::proptest! {
        /// The cache writes what `push_rfc3339` writes, for times in one second, in the next,
        /// back in an earlier one, and anywhere from year -9999 to 9999 (each step is a jump from
        /// the time before, so runs of steps stay within a second or two).
        #[test]
        fn the_second_cache_writes_what_push_rfc3339_writes(
            start in -377_705_116_800_000_000i64..253_402_300_799_999_999,
            steps in proptest::collection::vec(
                proptest::prop_oneof![0i64..1_000, -2_000_000i64..2_000_000], 1..50),
        ) {
            let mut cache = Rfc3339Cache::default();
            let mut at = start;
            for step in steps {
                at = at.saturating_add(step);
                let (mut cached, mut direct) = (Vec::new(), Vec::new());
                cache.push(&mut cached, at);
                push_rfc3339(&mut direct, at);
                proptest::prop_assert_eq!(cached, direct);
            }
        }
    }

    #[test]
    fn agrees_with_chrono() {
        for s in [
            "2026-11-25T17:09:39.802378Z",
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59.999999Z",
            "2024-12-31T00:00:00.5Z",
            "2026-03-01T01:02:03.123456+02:00",
            "1969-12-31T23:59:59.000001Z",
        ] {
            assert_eq!(parse_micros(s), Some(chrono_micros(s)), "{s}");
        }
    }

    #[test]
    fn formats_back_to_the_same_text() {
        for s in [
            "2026-11-25T17:09:39.802378Z",
            "2000-02-29T23:59:59.999999Z",
            "1969-12-31T23:59:59.000001Z",
        ] {
            assert_eq!(Rfc3339(parse_micros(s).unwrap()).to_string(), s);
        }
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for s in [
            "",
            "2026-11-25",
            "2026-13-25T17:09:39Z",
            "2026-02-30T17:09:39Z",
            "2026-11-25T17:09:39.Z",
            "2026-11-25T17:09:39.802378",
            "2026-11-25T17:09:39.802378Zjunk",
            "2026-11-25T25:09:39Z",
            "2026-11-25T17:09:3",
        ] {
            assert_eq!(parse_micros(s), None, "{s}");
        }
    }

    #[test]
    fn seconds_keep_their_sign_and_six_decimals() {
        for (us, text) in [
            (1_500_000, "1.500000"),
            (-250, "-0.000250"),
            (0, "0.000000"),
        ] {
            let mut buf = Vec::new();
            push_seconds(&mut buf, us);
            assert_eq!(buf, text.as_bytes());
        }
    }

    #[test]
    fn padded_numbers() {
        for (v, w, text) in [
            (0, 1, "0"),
            (7, 2, "07"),
            (12345, 2, "12345"),
            (u64::MAX, 1, "18446744073709551615"),
        ] {
            let mut buf = Vec::new();
            push_padded(&mut buf, v, w);
            assert_eq!(buf, text.as_bytes());
        }
    }
}
