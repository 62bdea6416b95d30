//! `bpflock forward`: the tiny forwarder. Reads bpflock's pinned perf buffer and writes
//! each event to journald as structured fields, or to stderr where there is no journald.
//!
//! Nothing is lost without a count: samples the ring dropped are logged as their own
//! entries with their number, events that journald refused are counted and reported, and
//! at start the kernel's count of events dropped while no forwarder ran is logged.
//! Enforcement never depends on it: it only reads.
//!
//! Hot path: the entries of one poll are built into one reused buffer and sent together
//! with one `sendmmsg`, numbers are formatted without `fmt`; no allocation per event.

use std::{
    cell::RefCell,
    io::Write,
    os::fd::AsRawFd,
    os::unix::net::UnixDatagram,
    path::Path,
    rc::Rc,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use libbpf_rs::{MapHandle, PerfBufferBuilder};

use crate::{
    error::{Error, Result},
    events::{self, Counters, Event},
    protections,
};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";
/// Entries sent with one `sendmmsg`; a bigger poll is sent in several.
const BATCH: usize = 64;
/// After a poll that found events, wait this long before the next one, so that a burst
/// is read in batches rather than with one wakeup per event (the kernel wakes the reader
/// for every sample). A full ring of 64 pages holds ~750 events: 5 ms of this pause
/// overflows only above ~150k events/s per CPU. A lone event is forwarded at once.
const COALESCE: Duration = Duration::from_millis(5);

const PRIORITY_WARNING: u8 = 4;
const PRIORITY_NOTICE: u8 = 5;
const PRIORITY_INFO: u8 = 6;

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

/// Appends the decimal digits of `v`.
fn put_decimal(buf: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// Appends `KEY=<decimal>`.
fn put_number(buf: &mut Vec<u8>, key: &str, value: u64) {
    buf.extend_from_slice(key.as_bytes());
    buf.push(b'=');
    put_decimal(buf, value);
    buf.push(b'\n');
}

#[derive(Default, Debug)]
struct Stats {
    delivered: u64,
    lost_in_ring: u64,
    undeliverable: u64,
    malformed: u64,
}

/// Where entries go: journald's native protocol over a connected datagram socket, batched
/// per poll, or stderr as `KEY=value` on one line where there is no journald.
enum Output {
    Journal {
        socket: UnixDatagram,
        /// The queued entries, back to back; `ends[i]` = (end offset, is an event).
        batch: Vec<u8>,
        ends: Vec<(usize, bool)>,
    },
    Stderr,
}

/// The forwarder's state, shared by the perf buffer's callbacks.
struct Forwarder {
    output: Output,
    /// Scratch for a MESSAGE being composed.
    message: Vec<u8>,
    /// Scratch for the fields of a stderr line.
    fields: Vec<u8>,
    /// Entries made so far (tells whether a poll found anything).
    entries: u64,
    stats: Stats,
    /// Role names by id (the jail's), read from the pins when an event names an unknown id.
    pin_root: std::path::PathBuf,
    roles: std::collections::BTreeMap<u32, String>,
}

impl Forwarder {
    fn open(pin_root: &Path) -> Self {
        let socket = UnixDatagram::unbound().and_then(|s| s.connect(JOURNAL_SOCKET).map(|()| s));
        let output = match socket {
            Ok(socket) => {
                Output::Journal { socket, batch: Vec::with_capacity(BATCH * 768), ends: Vec::with_capacity(BATCH) }
            }
            Err(e) => {
                eprintln!("bpflock: forward: no journald socket at {JOURNAL_SOCKET} ({e}): writing events to stderr");
                Output::Stderr
            }
        };
        Self {
            output,
            message: Vec::with_capacity(512),
            fields: Vec::new(),
            entries: 0,
            stats: Stats::default(),
            pin_root: pin_root.to_path_buf(),
            roles: Default::default(),
        }
    }

    /// Queues one entry with `self.message` as its MESSAGE (`fill` appends the other fields).
    /// `event`: it carries a kernel event (counted as delivered once sent).
    fn entry(&mut self, priority: u8, event: bool, fill: impl FnOnce(&mut Vec<u8>)) {
        self.entries += 1;
        match &mut self.output {
            Output::Journal { batch, ends, .. } => {
                put_field(batch, "PRIORITY", &[b'0' + priority]);
                put_field(batch, "SYSLOG_IDENTIFIER", b"bpflock");
                put_field(batch, "MESSAGE", &self.message);
                fill(batch);
                ends.push((batch.len(), event));
                if ends.len() == BATCH {
                    self.flush();
                }
            }
            Output::Stderr => {
                self.fields.clear();
                fill(&mut self.fields);
                // One line per entry: newlines (field separators, or inside a name) become spaces.
                for b in self.fields.iter_mut().chain(self.message.iter_mut()) {
                    if *b == b'\n' {
                        *b = b' ';
                    }
                }
                let mut err = std::io::stderr().lock();
                let written = err
                    .write_all(b"bpflock: ")
                    .and_then(|()| err.write_all(&self.message))
                    .and_then(|()| err.write_all(b" "))
                    .and_then(|()| err.write_all(self.fields.trim_ascii_end()))
                    .and_then(|()| err.write_all(b"\n"));
                match (written, event) {
                    (Ok(()), true) => self.stats.delivered += 1,
                    (Ok(()), false) => {}
                    (Err(_), _) => self.stats.undeliverable += 1,
                }
            }
        }
    }

    /// One of the forwarder's own entries: a message and string fields.
    fn notice(&mut self, priority: u8, message: &str, pairs: &[(&str, String)]) {
        self.message.clear();
        self.message.extend_from_slice(message.as_bytes());
        self.entry(priority, false, |buf| {
            for (k, v) in pairs {
                put_field(buf, k, v.as_bytes());
            }
        });
    }

    /// Sends the queued entries: one `sendmmsg` for all (more if the kernel takes fewer);
    /// an entry journald refuses is counted and skipped.
    fn flush(&mut self) {
        let Output::Journal { socket, batch, ends } = &mut self.output else { return };
        if ends.is_empty() {
            return;
        }
        let mut iovecs = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; BATCH];
        // SAFETY: mmsghdr is plain data; all-zero is a valid empty header.
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        let mut start = 0;
        for (i, &(end, _)) in ends.iter().enumerate() {
            iovecs[i] = libc::iovec { iov_base: batch[start..end].as_ptr() as *mut _, iov_len: end - start };
            headers[i].msg_hdr.msg_iov = &mut iovecs[i];
            headers[i].msg_hdr.msg_iovlen = 1;
            start = end;
        }
        let mut next = 0;
        while next < ends.len() {
            let pending = &mut headers[next..ends.len()];
            // The system call itself: musl's sendmmsg() on 64-bit loops over sendmsg(), one
            // system call per entry. Its msghdr has 32-bit lengths and zero padding where the
            // kernel reads 64 bits: the headers are zeroed, so the kernel reads them right.
            // SAFETY: the headers point into `iovecs` and `batch`, which outlive the call.
            let sent = unsafe {
                libc::syscall(libc::SYS_sendmmsg, socket.as_raw_fd(), pending.as_mut_ptr(), pending.len() as u32, 0)
            };
            if sent < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                // The first pending entry was refused (sendmmsg reports the first failure).
                self.stats.undeliverable += 1;
                next += 1;
                continue;
            }
            let sent = sent as usize;
            self.stats.delivered += ends[next..next + sent].iter().filter(|(_, event)| *event).count() as u64;
            next += sent;
        }
        batch.clear();
        ends.clear();
    }

    /// Queues one kernel event: a sentence, and every field of struct bpflock_event.
    fn event(&mut self, e: &Event) {
        let protection = events::protection_name(e.protection);
        let decision = events::decision_name(e.decision);
        let by = protections::by_id(e.protection);
        let operation = match (e.operation, by) {
            (events::OP_PINS, _) => "pins".into(),
            (op, None) if e.protection == crate::abi::PROT_SEAL => {
                crate::seal::operation_name(op).map_or_else(|| op.to_string().into(), Into::into)
            }
            (op, Some(p)) => p.operation_name(op),
            (op, None) => op.to_string().into(),
        };
        let role = by.and_then(|p| {
            let id = p.event_role(e.operation)?;
            if !self.roles.contains_key(&id) {
                // Re-read once per unknown id (a re-apply adds roles); remember a miss too.
                self.roles = p.pinned_role_names(&self.pin_root.join(p.name()));
                self.roles.entry(id).or_insert_with(|| format!("#{id}"));
            }
            Some(self.roles[&id].clone())
        });
        // Lossy UTF-8 (borrowed when valid): a name with invalid bytes must not turn the
        // MESSAGE into a blob journalctl does not show.
        let comm = e.comm();
        let object = e.object();

        // "<protection>: <decision> <operation> to <comm>[<tgid>] (uid <uid>, <pid namespace>): <object>"
        let m = &mut self.message;
        m.clear();
        m.extend_from_slice(protection.as_bytes());
        m.extend_from_slice(b": ");
        m.extend_from_slice(decision.as_bytes());
        m.push(b' ');
        m.extend_from_slice(operation.as_bytes());
        m.extend_from_slice(b" to ");
        m.extend_from_slice(comm.as_bytes());
        if let Some(role) = &role {
            m.extend_from_slice(b" in role ");
            m.extend_from_slice(role.as_bytes());
        }
        m.push(b'[');
        put_decimal(m, e.tgid.into());
        m.extend_from_slice(b"] (uid ");
        put_decimal(m, e.uid.into());
        if e.pidns_level == 0 {
            m.extend_from_slice(b", initial pid namespace)");
        } else {
            m.extend_from_slice(b", pid namespace ");
            put_decimal(m, e.pidns_inum.into());
            m.push(b')');
        }
        if !object.is_empty() {
            m.extend_from_slice(b": ");
            m.extend_from_slice(object.as_bytes());
        }

        // A would-deny is what enforcing would refuse: a rollout reads it with `-p warning`.
        let priority = if e.decision == crate::abi::DECISION_ALLOW { PRIORITY_INFO } else { PRIORITY_WARNING };
        let hook = events::hook_name(e.hook);
        self.entry(priority, true, |buf| {
            put_field(buf, "BPFLOCK_PROTECTION", protection.as_bytes());
            put_field(buf, "BPFLOCK_DECISION", decision.as_bytes());
            put_field(buf, "BPFLOCK_HOOK", hook.as_bytes());
            put_field(buf, "BPFLOCK_OPERATION", operation.as_bytes());
            put_number(buf, "BPFLOCK_PID", e.pid.into());
            put_number(buf, "BPFLOCK_TGID", e.tgid.into());
            put_number(buf, "BPFLOCK_PPID", e.ppid.into());
            put_number(buf, "BPFLOCK_UID", e.uid.into());
            put_number(buf, "BPFLOCK_GID", e.gid.into());
            put_field(buf, "BPFLOCK_COMM", comm.as_bytes());
            put_number(buf, "BPFLOCK_CGROUP_ID", e.cgroup_id);
            put_number(buf, "BPFLOCK_PIDNS", e.pidns_inum.into());
            put_number(buf, "BPFLOCK_PIDNS_LEVEL", e.pidns_level.into());
            put_number(buf, "BPFLOCK_BOOT_NS", e.boot_ns);
            if !object.is_empty() {
                put_field(buf, "BPFLOCK_OBJECT", object.as_bytes());
            }
            if let Some(role) = &role {
                put_field(buf, "BPFLOCK_ROLE", role.as_bytes());
            }
        });
    }
}

pub fn run(pin_root: &Path) -> Result<()> {
    let path = pin_root.join(events::EVENTS_DIR).join("events");
    let map = MapHandle::from_pinned_path(&path)
        .map_err(|e| Error::io("cannot open the pinned event buffer", &path)(std::io::Error::other(e)))?;
    let fwd = Rc::new(RefCell::new(Forwarder::open(pin_root)));

    // What happened while no forwarder was attached: the kernel counted it.
    let at_start = match Counters::read(pin_root) {
        Ok(c) => {
            if c.no_reader > 0 {
                let msg =
                    format!("{} events were dropped while no forwarder was running (since bootstrap)", c.no_reader);
                fwd.borrow_mut().notice(
                    PRIORITY_WARNING,
                    &msg,
                    &[("BPFLOCK_DROPPED_NO_READER", c.no_reader.to_string())],
                );
            }
            Some(c)
        }
        Err(e) => {
            fwd.borrow_mut().notice(PRIORITY_WARNING, &format!("cannot read the event counters: {e}"), &[]);
            None
        }
    };

    let (on_sample, on_lost) = (fwd.clone(), fwd.clone());
    let perf = PerfBufferBuilder::new(&map)
        .pages(64)
        .sample_cb(move |_cpu, data: &[u8]| {
            let mut fwd = on_sample.borrow_mut();
            match Event::from_bytes(data) {
                Some(e) => fwd.event(&e),
                None => fwd.stats.malformed += 1,
            }
        })
        .lost_cb(move |cpu, count| {
            let mut fwd = on_lost.borrow_mut();
            fwd.stats.lost_in_ring += count;
            let msg = format!("{count} events lost: the ring of CPU {cpu} was full");
            fwd.notice(
                PRIORITY_WARNING,
                &msg,
                &[("BPFLOCK_LOST", count.to_string()), ("BPFLOCK_CPU", cpu.to_string())],
            );
        })
        .build()
        .map_err(|e| Error::io("cannot open perf buffers on", &path)(std::io::Error::other(e)))?;

    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), SigSet::empty());
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { sigaction(signal, &action) }.map_err(|e| Error::io("cannot handle signals for", &path)(e.into()))?;
    }
    fwd.borrow_mut().notice(PRIORITY_NOTICE, &format!("forwarding events from {}", path.display()), &[]);
    fwd.borrow_mut().flush();
    while !STOP.load(Ordering::Relaxed) {
        let before = fwd.borrow().entries;
        let polled = perf.poll(Duration::from_millis(200));
        let mut f = fwd.borrow_mut();
        f.flush();
        let found = f.entries - before;
        drop(f);
        if let Err(e) = polled {
            if e.kind() != libbpf_rs::ErrorKind::Interrupted {
                return Err(Error::io("cannot read perf buffers on", &path)(std::io::Error::other(e)));
            }
        }
        if found > 0 {
            std::thread::sleep(COALESCE);
        }
    }
    let _ = perf.consume();
    let mut fwd = fwd.borrow_mut();
    fwd.flush();
    // The ring reports a loss only with its next successful write, so the last losses may
    // never reach us through it; the kernel's counter has them all.
    if let (Some(start), Ok(end)) = (&at_start, Counters::read(pin_root)) {
        let pending = (end.ring_full - start.ring_full).saturating_sub(fwd.stats.lost_in_ring);
        if pending > 0 {
            fwd.stats.lost_in_ring += pending;
            let msg = format!(
                "{pending} events lost: the ring was full (counted by the kernel, not yet reported by the ring)"
            );
            fwd.notice(PRIORITY_WARNING, &msg, &[("BPFLOCK_LOST", pending.to_string()), ("BPFLOCK_CPU", "all".into())]);
            fwd.flush();
        }
    }
    let st = &fwd.stats;
    let msg = format!(
        "forwarder stopping: {} events delivered, {} lost in the ring, {} not accepted by the journal, {} malformed",
        st.delivered, st.lost_in_ring, st.undeliverable, st.malformed
    );
    let pairs = [
        ("BPFLOCK_DELIVERED", st.delivered.to_string()),
        ("BPFLOCK_LOST", st.lost_in_ring.to_string()),
        ("BPFLOCK_UNDELIVERABLE", st.undeliverable.to_string()),
    ];
    let journal = matches!(fwd.output, Output::Journal { .. });
    fwd.notice(PRIORITY_NOTICE, &msg, &pairs);
    fwd.flush();
    if journal {
        // Also on stderr: the accounting must survive a journal that refuses entries.
        eprintln!("bpflock: forward: {msg}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        for v in [0, 7, 10, 4242, u64::MAX] {
            let mut buf = Vec::new();
            put_decimal(&mut buf, v);
            assert_eq!(buf, v.to_string().as_bytes());
        }
    }

    #[test]
    fn a_newline_cannot_forge_a_field() {
        let mut buf = Vec::new();
        put_field(&mut buf, "BPFLOCK_COMM", b"x\nPRIORITY=0");
        assert_eq!(buf, b"BPFLOCK_COMM\n\x0c\0\0\0\0\0\0\0x\nPRIORITY=0\n");
    }
}
