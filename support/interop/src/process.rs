//! Child processes that never outlive the check that started them.
//!
//! A check that fails, panics or times out must not leave a node or a browser running: the next run would
//! find ports taken and memory gone. [`ChildGuard`] kills its process when dropped, whatever the path out of
//! the check. It starts the program in a process group of its own and kills the whole group, because some
//! programs start others (chromedriver starts Chromium, which starts a dozen helpers).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running child process, killed with its process group when the guard is dropped.
pub struct ChildGuard {
    child: Child,
    /// Set once the child has been waited for: its process id may then belong to someone else.
    reaped: bool,
}

impl ChildGuard {
    /// Starts `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> std::io::Result<ChildGuard> {
        let child = command.process_group(0).spawn()?;
        Ok(ChildGuard { child, reaped: false })
    }

    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// Waits for the child to exit (the caller knows it is about to).
    pub fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let status = self.child.wait()?;
        self.reaped = true;
        Ok(status)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        // Until we wait for it, the child's process id stays reserved (at worst as a zombie), so the group id
        // (the leader's process id) still names our group. `kill -KILL -- -PGID` reaches every process in it;
        // the standard library can only signal the one child. If `kill` is missing, the child alone goes.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a program that ran to its end printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to its end, for at most `limit`; on expiry kills it and says what it printed until then.
pub fn run_with_limit(command: &mut Command, limit: Duration) -> Result<Finished, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut guard = ChildGuard::spawn(command).map_err(|error| format!("could not start {program}: {error}"))?;
    // Each pipe is read to its end on a thread of its own, so a chatty program never blocks on a full pipe.
    // Standard output ends when the program exits: waiting for it, with a limit, is waiting for the program.
    let stdout = read_to_end_in_background(guard.take_stdout());
    let stderr = read_to_end_in_background(guard.take_stderr());
    match stdout.recv_timeout(limit) {
        Ok(stdout) => {
            let status = guard.wait().map_err(|error| format!("{program} could not be waited for: {error}"))?;
            let stderr = stderr.recv().unwrap_or_default();
            Ok(Finished { status, stdout, stderr })
        }
        Err(_) => {
            drop(guard);
            let stdout = stdout.recv().unwrap_or_default();
            let stderr = stderr.recv().unwrap_or_default();
            Err(format!(
                "{program} did not finish within {limit:?} and was killed.\nIts stdout:\n{stdout}\nIts stderr:\n{stderr}"
            ))
        }
    }
}

fn read_to_end_in_background(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = sender.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    receiver
}
