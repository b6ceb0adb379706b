//! `events.csv`: every event of every VM, merged in time order, one row each.
//!
//! Written while the merge streams, so it costs no memory; each row is formatted byte by byte
//! (not through `fmt`, which cost more than the whole analysis) and written to a buffered writer. Values never contain commas (recipient lists are space-separated, as in the
//! log), so no quoting is needed.

use lc_core::vm_id::VmId;
use std::io::{self, Write};

use crate::read::record::{Action, Kind};
use lc_contract::timestamp::{push_padded, push_rfc3339, push_seconds};

/// The header row; docs/analyze.md describes each column.
pub(crate) const HEADER: &str = "time,t_s,vm,kind,lc,queue,peer,seq,msg_lc,jump";

/// Writes rows of `events.csv`.
pub(crate) struct EventsCsv<W: Write> {
    out: W,
    origin_us: i64,
    /// The row being built: formatted byte by byte, then written in one call.
    row: Vec<u8>,
    /// The whole second of the last timestamp and its text up to the `.`: consecutive events
    /// mostly share it, so only the microseconds need formatting.
    second: Option<(i64, Vec<u8>)>,
}

/// The columns of one row that are not always present.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Row<'a> {
    pub(crate) lc: Option<u64>,
    pub(crate) queue: Option<u64>,
    pub(crate) action: Option<&'a Action>,
    pub(crate) jump: Option<i64>,
}

impl<W: Write> EventsCsv<W> {
    /// Writes the header; times are also given as seconds since `origin_us`.
    pub(crate) fn new(mut out: W, origin_us: i64) -> io::Result<EventsCsv<W>> {
        writeln!(out, "{HEADER}")?;
        Ok(EventsCsv {
            out,
            origin_us,
            row: Vec::with_capacity(128),
            second: None,
        })
    }

    pub(crate) fn row(
        &mut self,
        time_us: i64,
        vm: VmId,
        kind: Kind,
        row: Row<'_>,
    ) -> io::Result<()> {
        let b = &mut self.row;
        b.clear();
        let secs = time_us.div_euclid(1_000_000);
        match &self.second {
            Some((s, text)) if *s == secs => b.extend_from_slice(text),
            _ => {
                push_rfc3339(b, secs * 1_000_000);
                b.truncate(b.len() - "000000Z".len());
                self.second = Some((secs, b.clone()));
            }
        }
        push_padded(b, time_us.rem_euclid(1_000_000) as u64, 6);
        b.extend_from_slice(b"Z,");
        push_seconds(b, time_us - self.origin_us);
        b.push(b',');
        push_padded(b, u64::from(vm), 1);
        b.push(b',');
        b.extend_from_slice(kind.as_str().as_bytes());
        b.push(b',');
        push_opt(b, row.lc);
        b.push(b',');
        push_opt(b, row.queue);
        b.push(b',');
        match row.action {
            Some(Action::Send { to, seq }) => {
                for (i, &r) in to.iter().enumerate() {
                    if i > 0 {
                        b.push(b' ');
                    }
                    push_padded(b, u64::from(r), 1);
                }
                b.push(b',');
                push_padded(b, *seq, 1);
                b.push(b',');
            }
            Some(Action::Receive {
                from, seq, msg_lc, ..
            }) => {
                push_padded(b, u64::from(*from), 1);
                b.push(b',');
                push_padded(b, *seq, 1);
                b.push(b',');
                push_padded(b, *msg_lc, 1);
            }
            Some(Action::Internal) | None => b.extend_from_slice(b",,"),
        }
        b.push(b',');
        if let Some(jump) = row.jump {
            if jump < 0 {
                b.push(b'-');
            }
            push_padded(b, jump.unsigned_abs(), 1);
        }
        b.push(b'\n');
        self.out.write_all(b)
    }

    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

fn push_opt(b: &mut Vec<u8>, v: Option<u64>) {
    if let Some(v) = v {
        push_padded(b, v, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    #[test]
    fn rows_have_ten_columns() {
        let mut csv = EventsCsv::new(Vec::new(), 1_000_000).unwrap();
        let send = Action::Send {
            to: vec![vid(2), vid(3)],
            seq: 4,
        };
        let receive = Action::Receive {
            from: vid(1),
            seq: 4,
            msg_lc: 17,
            msg_vc: None,
        };
        csv.row(1_500_000, vid(1), Kind::Start, Row::default())
            .unwrap();
        let row = |lc, action, jump| Row {
            lc: Some(lc),
            queue: Some(0),
            action: Some(action),
            jump: Some(jump),
        };
        csv.row(2_000_000, vid(1), Kind::Send, row(17, &send, 1))
            .unwrap();
        csv.row(2_000_250, vid(2), Kind::Receive, row(18, &receive, 9))
            .unwrap();
        csv.row(
            2_000_300,
            vid(3),
            Kind::Internal,
            row(3, &Action::Internal, 1),
        )
        .unwrap();
        csv.row(
            3_000_000,
            vid(1),
            Kind::Stop,
            Row {
                queue: Some(2),
                ..Row::default()
            },
        )
        .unwrap();
        let text = String::from_utf8(csv.finish().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            vec![
                HEADER,
                "1970-01-01T00:00:01.500000Z,0.500000,1,start,,,,,,",
                "1970-01-01T00:00:02.000000Z,1.000000,1,send,17,0,2 3,4,,1",
                "1970-01-01T00:00:02.000250Z,1.000250,2,receive,18,0,1,4,17,9",
                "1970-01-01T00:00:02.000300Z,1.000300,3,internal,3,0,,,,1",
                "1970-01-01T00:00:03.000000Z,2.000000,1,stop,,2,,,,",
            ]
        );
        assert!(lines.iter().all(|l| l.split(',').count() == 10));
    }
}
