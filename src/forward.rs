//! `bpflock forward`: the tiny forwarder. Reads bpflock's pinned perf buffer and writes
//! each event to journald as structured fields, or to stderr where there is no journald.
//!
//! Nothing is lost without a count: samples the ring dropped are logged as their own
//! entries with their number, events that journald refused are counted and reported, and
//! at start the kernel's count of events dropped while no forwarder ran is logged.
//! Enforcement never depends on it: it only reads.

use std::{
    cell::RefCell,
    io::Write,
    path::Path,
    rc::Rc,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use libbpf_rs::{MapHandle, PerfBufferBuilder};
use log::kv::{Key, Value, VisitSource};

use crate::{
    error::{Error, Result},
    events::{self, Counters, Event, DECISION_DENY, DECISION_NAMES, HOOK_NAMES, PROT_NAMES},
};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Where entries go: journald with fields, or stderr as `KEY=value` lines.
enum Sink {
    Journal(systemd_journal_logger::JournalLog),
    Stderr,
}

impl Sink {
    fn open() -> Self {
        match systemd_journal_logger::JournalLog::new() {
            Ok(j) => Sink::Journal(j.with_syslog_identifier("bpflock".into())),
            Err(e) => {
                eprintln!("bpflock: forward: no journald socket ({e}): writing events to stderr");
                Sink::Stderr
            }
        }
    }

    /// Sends one entry; Err when it could not be delivered.
    fn send(&self, level: log::Level, message: &str, fields: &[(&str, String)]) -> std::io::Result<()> {
        match self {
            Sink::Journal(j) => {
                let kvs = Fields(fields);
                let args = format_args!("{message}");
                let record = log::Record::builder().args(args).level(level).target("bpflock").key_values(&kvs).build();
                j.journal_send(&record)
            }
            Sink::Stderr => {
                let mut line = format!("bpflock: {message}");
                for (k, v) in fields {
                    line.push_str(&format!(" {k}={v}"));
                }
                writeln!(std::io::stderr(), "{line}")
            }
        }
    }
}

#[derive(Default, Debug)]
struct Stats {
    delivered: u64,
    lost_in_ring: u64,
    undeliverable: u64,
    malformed: u64,
}

fn event_entry(e: &Event) -> (log::Level, String, Vec<(&'static str, String)>) {
    let protection = events::name_of(&PROT_NAMES, e.protection);
    let decision = events::name_of(&DECISION_NAMES, e.decision);
    let operation = events::operation_name(e);
    let comm = e.comm();
    let object = e.object();
    let where_ = if e.pidns_level == 0 {
        "initial pid namespace".to_string()
    } else {
        format!("pid namespace {}", e.pidns_inum)
    };
    let mut message = format!("{protection}: {decision} {operation} to {comm}[{}] (uid {}, {where_})", e.tgid, e.uid);
    if !object.is_empty() {
        message.push_str(&format!(": {object}"));
    }
    // systemd-journal-logger maps Warn to PRIORITY 4 (warning) and Debug to 6 (info).
    let level = if e.decision == DECISION_DENY { log::Level::Warn } else { log::Level::Debug };
    let mut fields = vec![
        ("BPFLOCK_PROTECTION", protection),
        ("BPFLOCK_DECISION", decision),
        ("BPFLOCK_HOOK", events::name_of(&HOOK_NAMES, e.hook)),
        ("BPFLOCK_OPERATION", operation),
        ("BPFLOCK_PID", e.pid.to_string()),
        ("BPFLOCK_TGID", e.tgid.to_string()),
        ("BPFLOCK_PPID", e.ppid.to_string()),
        ("BPFLOCK_UID", e.uid.to_string()),
        ("BPFLOCK_GID", e.gid.to_string()),
        ("BPFLOCK_COMM", comm),
        ("BPFLOCK_CGROUP_ID", e.cgroup_id.to_string()),
        ("BPFLOCK_PIDNS", e.pidns_inum.to_string()),
        ("BPFLOCK_PIDNS_LEVEL", e.pidns_level.to_string()),
        ("BPFLOCK_BOOT_NS", e.boot_ns.to_string()),
    ];
    if !object.is_empty() {
        fields.push(("BPFLOCK_OBJECT", object));
    }
    (level, message, fields)
}

pub fn run(pin_root: &Path) -> Result<()> {
    let path = pin_root.join(events::EVENTS_DIR).join("events");
    let map = MapHandle::from_pinned_path(&path)
        .map_err(|e| Error::io("cannot open the pinned event buffer", &path)(std::io::Error::other(e)))?;
    let sink = Rc::new(Sink::open());
    let stats = Rc::new(RefCell::new(Stats::default()));

    // What happened while no forwarder was attached: the kernel counted it.
    let at_start = match Counters::read(pin_root) {
        Ok(c) => {
            if c.no_reader > 0 {
                let msg =
                    format!("{} events were dropped while no forwarder was running (since bootstrap)", c.no_reader);
                let _ = sink.send(log::Level::Warn, &msg, &[("BPFLOCK_DROPPED_NO_READER", c.no_reader.to_string())]);
            }
            Some(c)
        }
        Err(e) => {
            let _ = sink.send(log::Level::Warn, &format!("cannot read the event counters: {e}"), &[]);
            None
        }
    };

    let (sample_sink, sample_stats) = (sink.clone(), stats.clone());
    let (lost_sink, lost_stats) = (sink.clone(), stats.clone());
    let perf = PerfBufferBuilder::new(&map)
        .pages(64)
        .sample_cb(move |_cpu, data: &[u8]| {
            let mut st = sample_stats.borrow_mut();
            let Some(e) = Event::from_bytes(data) else {
                st.malformed += 1;
                return;
            };
            let (level, message, fields) = event_entry(&e);
            match sample_sink.send(level, &message, &fields) {
                Ok(()) => st.delivered += 1,
                Err(_) => st.undeliverable += 1,
            }
        })
        .lost_cb(move |cpu, count| {
            let mut st = lost_stats.borrow_mut();
            st.lost_in_ring += count;
            let msg = format!("{count} events lost: the ring of CPU {cpu} was full");
            let fields = [("BPFLOCK_LOST", count.to_string()), ("BPFLOCK_CPU", cpu.to_string())];
            if lost_sink.send(log::Level::Warn, &msg, &fields).is_err() {
                st.undeliverable += 1;
            }
        })
        .build()
        .map_err(|e| Error::io("cannot open perf buffers on", &path)(std::io::Error::other(e)))?;

    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), SigSet::empty());
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { sigaction(signal, &action) }.map_err(|e| Error::io("cannot handle signals for", &path)(e.into()))?;
    }
    let _ = sink.send(log::Level::Info, &format!("forwarding events from {}", path.display()), &[]);
    while !STOP.load(Ordering::Relaxed) {
        if let Err(e) = perf.poll(Duration::from_millis(200)) {
            if e.kind() != libbpf_rs::ErrorKind::Interrupted {
                return Err(Error::io("cannot read perf buffers on", &path)(std::io::Error::other(e)));
            }
        }
    }
    let _ = perf.consume();
    let mut st = stats.borrow_mut();
    // The ring reports a loss only with its next successful write, so the last losses may
    // never reach us through it; the kernel's counter has them all.
    if let (Some(start), Ok(end)) = (&at_start, Counters::read(pin_root)) {
        let pending = (end.ring_full - start.ring_full).saturating_sub(st.lost_in_ring);
        if pending > 0 {
            st.lost_in_ring += pending;
            let msg = format!(
                "{pending} events lost: the ring was full (counted by the kernel, not yet reported by the ring)"
            );
            if sink
                .send(log::Level::Warn, &msg, &[("BPFLOCK_LOST", pending.to_string()), ("BPFLOCK_CPU", "all".into())])
                .is_err()
            {
                st.undeliverable += 1;
            }
        }
    }
    let msg = format!(
        "forwarder stopping: {} events delivered, {} lost in the ring, {} not accepted by the journal, {} malformed",
        st.delivered, st.lost_in_ring, st.undeliverable, st.malformed
    );
    let fields = [
        ("BPFLOCK_DELIVERED", st.delivered.to_string()),
        ("BPFLOCK_LOST", st.lost_in_ring.to_string()),
        ("BPFLOCK_UNDELIVERABLE", st.undeliverable.to_string()),
    ];
    if sink.send(log::Level::Info, &msg, &fields).is_err() || matches!(*sink, Sink::Journal(_)) {
        // Also on stderr: the accounting must survive a journal that refuses entries.
        eprintln!("bpflock: forward: {msg}");
    }
    Ok(())
}

/// The journal fields of one entry, as a log key-value source.
struct Fields<'a>(&'a [(&'a str, String)]);

impl log::kv::Source for Fields<'_> {
    fn visit<'kvs>(&'kvs self, visitor: &mut dyn VisitSource<'kvs>) -> std::result::Result<(), log::kv::Error> {
        for (k, v) in self.0 {
            visitor.visit_pair(Key::from_str(k), Value::from(v.as_str()))?;
        }
        Ok(())
    }

    fn count(&self) -> usize {
        self.0.len()
    }
}
