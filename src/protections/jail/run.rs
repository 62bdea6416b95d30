//! `bpflock run --role NAME -- CMD...`: the caller enrolls itself in a pinned role and execs.

use std::{ffi::CString, path::Path};

use libbpf_rs::{MapCore, MapFlags, MapHandle};

use super::{refused, status::read_roles, types, MAPS_DIR, NAME};
use crate::error::Result;
use crate::skel::bytes_of;

/// `bpflock run --role NAME -- CMD...`: jails the calling process in NAME and execs CMD.
pub fn run(pin_root: &Path, role: &str, command: &[String]) -> Result<std::convert::Infallible> {
    crate::kernel::require_bpf_privilege("run")?;
    let dir = pin_root.join(NAME);
    if !dir.exists() {
        return Err(refused(format!("no jail is pinned at {} (bootstrap a policy with roles first)", dir.display())));
    }
    let roles = read_roles(&dir).map_err(|e| {
        refused(format!(
            "cannot open the roles pinned in {}: {e} (a jailed process cannot enroll itself again)",
            dir.display()
        ))
    })?;
    let Some((&id, _)) = roles.iter().find(|(_, n)| n.as_str() == role) else {
        let known: Vec<_> = roles.values().cloned().collect();
        return Err(refused(format!("no role \"{role}\" in the pinned jail (roles: {})", known.join(", "))));
    };
    let path = dir.join(MAPS_DIR).join("tasks");
    let tasks = MapHandle::from_pinned_path(&path).map_err(|e| {
        refused(format!("cannot open {}: {e} (a jailed process cannot enroll itself again)", path.display()))
    })?;
    // SAFETY: pidfd_open on our own pid; the fd is closed by the exec (O_CLOEXEC) or on error.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) } as i32;
    if pidfd < 0 {
        return Err(refused(format!("pidfd_open: {}", std::io::Error::last_os_error())));
    }
    let value = types::jail_task { role: id, flags: 0 };
    // Never replaces an existing jail: a jailed task does not re-enroll.
    tasks
        .update(&pidfd.to_ne_bytes(), bytes_of(&value), MapFlags::NO_EXIST)
        .map_err(|e| refused(format!("cannot enroll in role \"{role}\": {e} (already jailed?)")))?;
    // SAFETY: closing the pidfd opened above.
    unsafe { libc::close(pidfd) };
    let args: Vec<CString> = command
        .iter()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| refused(format!("a NUL byte in {a:?}"))))
        .collect::<Result<_>>()?;
    let err = nix::unistd::execvp(&args[0], &args).unwrap_err();
    Err(refused(format!("cannot run {}: {err}", command[0])))
}
