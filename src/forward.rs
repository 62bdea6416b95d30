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
use std::os::unix::net::UnixDatagram;

use crate::{
    error::{Error, Result},
    events::{self, Counters, Event, DECISION_DENY, DECISION_NAMES, HOOK_NAMES, PROT_NAMES},
};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// Where entries go: journald's native protocol over a connected datagram socket (one
/// path lookup for the forwarder's life, one reused buffer, no allocation per event), or
/// stderr as `KEY=value` lines where there is no journald.
enum Sink {
    Journal { socket: UnixDatagram, buf: RefCell<Vec<u8>> },
    Stderr,
}

/// Appends one journal field. A value with a newline uses the protocol's binary form, so
/// a task cannot forge fields through its comm or a path.
fn put_field(buf: &mut Vec<u8>, key: &str, value: &[u8]) {
    buf.extend_from_slice(key.as_bytes());
    if value.contains(&b'\n') {
        buf.push(b'\n');
        buf.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        buf.push(b'=');
    }
    buf.extend_from_slice(value);
    buf.push(b'\n');
}

impl Sink {
    fn open() -> Self {
        let socket = UnixDatagram::unbound().and_then(|s| s.connect(JOURNAL_SOCKET).map(|()| s));
        match socket {
            Ok(socket) => Sink::Journal { socket, buf: RefCell::new(Vec::with_capacity(2048)) },
            Err(e) => {
                eprintln!("bpflock: forward: no journald socket at {JOURNAL_SOCKET} ({e}): writing events to stderr");
                Sink::Stderr
            }
        }
    }

    /// Sends one entry (`fill` appends its fields after MESSAGE); Err when it could not be delivered.
    fn send(&self, priority: u8, message: &str, fill: impl FnOnce(&mut Vec<u8>)) -> std::io::Result<()> {
        match self {
            Sink::Journal { socket, buf } => {
                let mut buf = buf.borrow_mut();
                buf.clear();
                put_field(&mut buf, "PRIORITY", &[b'0' + priority]);
                put_field(&mut buf, "SYSLOG_IDENTIFIER", b"bpflock");
                put_field(&mut buf, "MESSAGE", message.as_bytes());
                fill(&mut buf);
                socket.send(&buf).map(|_| ())
            }
            Sink::Stderr => {
                let mut fields = Vec::new();
                fill(&mut fields);
                // KEY=value lines become one line: " KEY=value" each.
                let rendered = String::from_utf8_lossy(&fields).replace('\n', " ");
                writeln!(std::io::stderr(), "bpflock: {message} {}", rendered.trim_end())
            }
        }
    }
}

/// Appends `KEY=value` for values that format without a newline (numbers, names).
fn put_display(buf: &mut Vec<u8>, key: &str, value: impl std::fmt::Display) {
    buf.extend_from_slice(key.as_bytes());
    buf.push(b'=');
    let _ = write!(buf, "{value}");
    buf.push(b'\n');
}

const PRIORITY_WARNING: u8 = 4;
const PRIORITY_NOTICE: u8 = 5;
const PRIORITY_INFO: u8 = 6;

#[derive(Default, Debug)]
struct Stats {
    delivered: u64,
    lost_in_ring: u64,
    undeliverable: u64,
    malformed: u64,
}

/// Sends one event: a sentence, and every field of struct bpflock_event.
fn send_event(sink: &Sink, e: &Event) -> std::io::Result<()> {
    let protection = events::name_of(&PROT_NAMES, e.protection);
    let decision = events::name_of(&DECISION_NAMES, e.decision);
    let operation = events::operation_name(e);
    let comm = e.comm();
    let object = e.object();
    let mut message = String::with_capacity(160);
    let _ = std::fmt::Write::write_fmt(
        &mut message,
        format_args!("{protection}: {decision} {operation} to {comm}[{}] (uid {}, ", e.tgid, e.uid),
    );
    if e.pidns_level == 0 {
        message.push_str("initial pid namespace)");
    } else {
        let _ = std::fmt::Write::write_fmt(&mut message, format_args!("pid namespace {})", e.pidns_inum));
    }
    if !object.is_empty() {
        message.push_str(": ");
        message.push_str(&object);
    }
    let priority = if e.decision == DECISION_DENY { PRIORITY_WARNING } else { PRIORITY_INFO };
    sink.send(priority, &message, |buf| {
        put_field(buf, "BPFLOCK_PROTECTION", protection.as_bytes());
        put_field(buf, "BPFLOCK_DECISION", decision.as_bytes());
        put_field(buf, "BPFLOCK_HOOK", events::name_of(&HOOK_NAMES, e.hook).as_bytes());
        put_field(buf, "BPFLOCK_OPERATION", operation.as_bytes());
        put_display(buf, "BPFLOCK_PID", e.pid);
        put_display(buf, "BPFLOCK_TGID", e.tgid);
        put_display(buf, "BPFLOCK_PPID", e.ppid);
        put_display(buf, "BPFLOCK_UID", e.uid);
        put_display(buf, "BPFLOCK_GID", e.gid);
        put_field(buf, "BPFLOCK_COMM", comm.as_bytes());
        put_display(buf, "BPFLOCK_CGROUP_ID", e.cgroup_id);
        put_display(buf, "BPFLOCK_PIDNS", e.pidns_inum);
        put_display(buf, "BPFLOCK_PIDNS_LEVEL", e.pidns_level);
        put_display(buf, "BPFLOCK_BOOT_NS", e.boot_ns);
        if !object.is_empty() {
            put_field(buf, "BPFLOCK_OBJECT", object.as_bytes());
        }
    })
}

/// Fields of the forwarder's own entries.
fn fields<'a>(pairs: &'a [(&'a str, String)]) -> impl FnOnce(&mut Vec<u8>) + 'a {
    move |buf| {
        for (k, v) in pairs {
            put_field(buf, k, v.as_bytes());
        }
    }
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
                let _ = sink.send(
                    PRIORITY_WARNING,
                    &msg,
                    fields(&[("BPFLOCK_DROPPED_NO_READER", c.no_reader.to_string())]),
                );
            }
            Some(c)
        }
        Err(e) => {
            let _ = sink.send(PRIORITY_WARNING, &format!("cannot read the event counters: {e}"), |_| {});
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
            match send_event(&sample_sink, &e) {
                Ok(()) => st.delivered += 1,
                Err(_) => st.undeliverable += 1,
            }
        })
        .lost_cb(move |cpu, count| {
            let mut st = lost_stats.borrow_mut();
            st.lost_in_ring += count;
            let msg = format!("{count} events lost: the ring of CPU {cpu} was full");
            let pairs = [("BPFLOCK_LOST", count.to_string()), ("BPFLOCK_CPU", cpu.to_string())];
            if lost_sink.send(PRIORITY_WARNING, &msg, fields(&pairs)).is_err() {
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
    let _ = sink.send(PRIORITY_NOTICE, &format!("forwarding events from {}", path.display()), |_| {});
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
            let pairs = [("BPFLOCK_LOST", pending.to_string()), ("BPFLOCK_CPU", "all".into())];
            if sink.send(PRIORITY_WARNING, &msg, fields(&pairs)).is_err() {
                st.undeliverable += 1;
            }
        }
    }
    let msg = format!(
        "forwarder stopping: {} events delivered, {} lost in the ring, {} not accepted by the journal, {} malformed",
        st.delivered, st.lost_in_ring, st.undeliverable, st.malformed
    );
    let pairs = [
        ("BPFLOCK_DELIVERED", st.delivered.to_string()),
        ("BPFLOCK_LOST", st.lost_in_ring.to_string()),
        ("BPFLOCK_UNDELIVERABLE", st.undeliverable.to_string()),
    ];
    if sink.send(PRIORITY_NOTICE, &msg, fields(&pairs)).is_err() || matches!(*sink, Sink::Journal { .. }) {
        // Also on stderr: the accounting must survive a journal that refuses entries.
        eprintln!("bpflock: forward: {msg}");
    }
    Ok(())
}
