//! The ShiViz log: each event with its host, a description and its vector clock, laid out as
//! ShiViz's file upload reads it. Pure: it writes to any `Write`.
//!
//! ShiViz (<https://bestchai.bitbucket.io/shiviz/>, source at github.com/DistributedClocks/shiviz)
//! reads an uploaded file as: line 1 the parser regular expression, line 2 the regular
//! expression that separates executions (empty for one), the log from line 3. The parser must have the named groups `host`, `clock` and
//! `event`; ShiViz turns `(?<name>...)` into plain groups itself and runs the result as a
//! JavaScript regular expression with the flags `g` and `m`, so the groups here contain no
//! parentheses and the pattern is anchored per line. The clock is JSON keyed by host name.
//!
//! ShiViz refuses a log unless each host's own entry starts at 1 and grows by exactly 1 per
//! event, and every entry names a host of the log and stays within that host's event count.
//! The clocks written here are the derived ones (see
//! [`CausalOrder`](crate::causality::causal_order::CausalOrder)), which keep all three by construction,
//! whatever the logged `vc` says. Entries of 0 are left out (ShiViz drops them anyway, and
//! GoVector writes them so), but a host's own entry is always there.
//!
//! Several runs become several executions in one file, each opened by a delimiter line that
//! names its run (`=== run <run id> ===`; the group `trace` is ShiViz's execution label, which
//! must be unique, so a repeated name gets `#2`, `#3`...).

use lc_core::vm_id::VmId;
use std::collections::HashSet;
use std::io::{self, Write};

use crate::read::record::{Action, Tick};
use lc_core::vector_clock::VectorClock;

/// Line 1: one event per line, `<host> <clock JSON> <description>`.
pub const PARSER: &str = r"^(?<host>\S+) (?<clock>\{[^}]*\}) (?<event>.*)$";
/// Line 2 when the file holds several runs: a line naming the run that follows.
pub const DELIMITER: &str = r"^=== run (?<trace>\S+) ===$";

/// The host name of VM `vm` in the ShiViz log.
pub(crate) fn host(vm: VmId) -> String {
    format!("vm{vm}")
}

/// Writes a ShiViz log.
#[derive(Debug)]
pub(crate) struct ShivizLog<W: Write> {
    out: W,
    several: bool,
    labels: HashSet<String>,
    events: u64,
}

impl<W: Write> ShivizLog<W> {
    /// A log of one execution, or of `several`; writes the two header lines.
    pub(crate) fn new(mut out: W, several: bool) -> io::Result<ShivizLog<W>> {
        writeln!(out, "{PARSER}")?;
        writeln!(out, "{}", if several { DELIMITER } else { "" })?;
        Ok(ShivizLog {
            out,
            several,
            labels: HashSet::new(),
            events: 0,
        })
    }

    /// Opens the execution of run `run_id` (with several runs, a delimiter line naming it);
    /// returns its label.
    pub(crate) fn execution(&mut self, run_id: &str) -> io::Result<String> {
        let base: String = run_id
            .chars()
            .map(|c| if c.is_whitespace() { '_' } else { c })
            .collect();
        let base = if base.is_empty() { "run".into() } else { base };
        let mut label = base.clone();
        let mut k = 1;
        while !self.labels.insert(label.clone()) {
            k += 1;
            label = format!("{base}#{k}");
        }
        if self.several {
            writeln!(self.out, "=== run {label} ===")?;
        }
        Ok(label)
    }

    /// One event of VM `vm` with clock `clock`.
    pub(crate) fn event(
        &mut self,
        vm: VmId,
        clock: &VectorClock,
        description: &str,
    ) -> io::Result<()> {
        let mut json = String::from("{");
        for (i, &entry) in clock.entries().iter().enumerate() {
            let id = VmId::from_index(i);
            if entry == 0 && id != vm {
                continue;
            }
            if json.len() > 1 {
                json.push(',');
            }
            json.push_str(&format!("\"{}\":{entry}", host(id)));
        }
        json.push('}');
        self.events += 1;
        writeln!(self.out, "{} {json} {description}", host(vm))
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// What ShiViz shows for a tick: its kind, peers, seq and Lamport clock, and where it was
/// logged (`file:line`).
pub(crate) fn describe(tick: &Tick, place: &str) -> String {
    let lc = tick.lc;
    match &tick.action {
        Action::Send { to, seq } => {
            let to: Vec<String> = to.iter().map(VmId::to_string).collect();
            format!("send to {}, seq {seq}, lc {lc} ({place})", to.join(" "))
        }
        Action::Receive { from, seq, .. } => {
            format!("receive from {from}, seq {seq}, lc {lc} ({place})")
        }
        Action::Internal => format!("internal, lc {lc} ({place})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn vc(s: &str) -> VectorClock {
        s.parse().unwrap()
    }

    #[test]
    fn one_run_has_an_empty_delimiter_and_no_delimiter_lines() {
        let mut log = ShivizLog::new(Vec::new(), false).unwrap();
        assert_eq!(log.execution("run a").unwrap(), "run_a");
        log.event(vid(2), &vc("0 1 0"), "internal, lc 1 (vm-2.log:2)")
            .unwrap();
        log.event(
            vid(1),
            &vc("1 1 3"),
            "receive from 2, seq 1, lc 2 (vm-1.log:2)",
        )
        .unwrap();
        assert_eq!(log.events(), 2);
        let text = String::from_utf8(log.finish().unwrap()).unwrap();
        assert_eq!(
            text,
            format!(
                "{PARSER}\n\nvm2 {{\"vm2\":1}} internal, lc 1 (vm-2.log:2)\n\
                 vm1 {{\"vm1\":1,\"vm2\":1,\"vm3\":3}} receive from 2, seq 1, lc 2 (vm-1.log:2)\n"
            )
        );
    }

    #[test]
    fn several_runs_get_unique_labelled_delimiters() {
        let mut log = ShivizLog::new(Vec::new(), true).unwrap();
        for id in ["r1", "r1", "r1"] {
            log.execution(id).unwrap();
        }
        let text = String::from_utf8(log.finish().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            vec![
                PARSER,
                DELIMITER,
                "=== run r1 ===",
                "=== run r1#2 ===",
                "=== run r1#3 ==="
            ]
        );
    }

    #[test]
    fn describes_each_kind() {
        let tick = |action| Tick {
            lc: 7,
            queue: 0,
            vc: None,
            action,
        };
        let send = tick(Action::Send {
            to: vec![vid(2), vid(3)],
            seq: 4,
        });
        assert_eq!(
            describe(&send, "vm-1.log:9"),
            "send to 2 3, seq 4, lc 7 (vm-1.log:9)"
        );
        let receive = tick(Action::Receive {
            from: vid(1),
            seq: 4,
            msg_lc: 6,
            msg_vc: None,
        });
        assert_eq!(
            describe(&receive, "x:1"),
            "receive from 1, seq 4, lc 7 (x:1)"
        );
        assert_eq!(
            describe(&tick(Action::Internal), "x:2"),
            "internal, lc 7 (x:2)"
        );
    }
}
