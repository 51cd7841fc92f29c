//! Where student code runs: a sandbox that shows it only what it needs, and what the grader could arrange.
//!
//! Student code runs in three places: the compiler reads it (and whatever files it names: `include_str!` takes
//! any path), the student's programs run it while the tests talk to them, and each graded test's process
//! (the kit's own code) runs next to those programs. The grader keeps them apart:
//!
//! - every **build** and every **student program** runs in bubblewrap (`bwrap`) where the platform allows it:
//!   a file system built from nothing but the system's read-only folders, the toolchain, and the few folders
//!   the job needs (the submission's own scratch copy, its program, a private `/tmp`); the kit, its solutions,
//!   the other submissions, the reports and the test binaries are simply not there. It has its own process
//!   namespace (it cannot see, signal or trace the test or the grader) and no capabilities; a build has no
//!   network at all, a program shares its test's loopback;
//! - every **test process** runs in a network namespace of its own with only loopback up (`unshare -rn`),
//!   with a scrubbed environment, a time limit and an output cap; its process group is killed at the end.
//!
//! What could not be arranged is detected once, said in every report, and replaced by what there is: without
//! bubblewrap, student code runs as the grader's own user, and the kit's fingerprint (see `integrity`) is
//! what notices tampering.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How a sandboxed process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It exited by itself with this code (`None`: killed by a signal it did not get from us).
    Exited(Option<i32>),
    /// We killed it: it ran past its time limit.
    TimedOut,
    /// We killed it: it printed more than the output cap.
    OutputLimit,
}

pub struct Outcome {
    pub ending: Ending,
    /// Stdout then stderr, each cut at the cap.
    pub output: String,
}

/// What this machine lets the grader do, found out once per run.
#[derive(Debug, Clone)]
pub struct Protections {
    /// Whether bubblewrap runs here; if not, why not.
    pub bubblewrap: Result<(), String>,
    /// Whether a test process can get a loopback-only network namespace (`unshare -rn`).
    pub loopback_only: bool,
}

impl Protections {
    /// `no_sandbox`: do without bubblewrap even if it works here.
    pub fn detect(no_sandbox: bool) -> Protections {
        let loopback_only = Command::new("unshare")
            .args(["-rn", "sh", "-c", "ip link set lo up"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        let bubblewrap = if no_sandbox { Err("turned off with --no-sandbox".to_owned()) } else { probe_bubblewrap() };
        Protections { bubblewrap, loopback_only }
    }

    pub fn sandboxed(&self) -> bool {
        self.bubblewrap.is_ok()
    }

    /// One sentence per protection that held.
    pub fn held(&self) -> Vec<String> {
        let mut held = Vec::new();
        if self.sandboxed() {
            held.push(
                "builds and student programs ran in bubblewrap: only the system's folders (read-only), the \
                 toolchain and the submission's own files were visible; the kit, its solutions, the other \
                 submissions and the test binaries were not"
                    .to_owned(),
            );
            held.push(
                "student programs had a private /tmp, their own process namespace (the tests and the grader were \
                 out of sight and out of reach) and no capabilities; builds had no network"
                    .to_owned(),
            );
        }
        if self.loopback_only {
            held.push("each test and the programs it started had a network of their own: loopback only".to_owned());
        }
        held.push("each test ran in its own process, with a time limit and an output cap".to_owned());
        held
    }

    /// One sentence per protection that could not be arranged here, and what stood in for it.
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if let Err(why) = &self.bubblewrap {
            missing.push(format!(
                "no sandbox ({why}): builds and student programs ran as the grader's own user and could read the \
                 kit and the other submissions; tampering with the kit's files was watched for between \
                 submissions, and each test binary before every test (install bubblewrap: apt-get install bubblewrap)"
            ));
        }
        if !self.loopback_only {
            missing.push(
                "no private network (`unshare -rn` is not allowed here): student code had the machine's network"
                    .to_owned(),
            );
        }
        missing
    }
}

/// The system's own folders, which every sandbox shows read-only: its programs, libraries and settings.
const SYSTEM_TREES: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"];

/// The `PATH` of a sandboxed process: the grader's own, less the folders the sandbox does not show.
fn system_path() -> OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let shown = std::env::split_paths(&path).filter(|folder| SYSTEM_TREES.iter().any(|tree| folder.starts_with(tree)));
    std::env::join_paths(shown).unwrap_or_default()
}

/// Runs `true` in the sandbox a student program would get: if that works, everything does.
fn probe_bubblewrap() -> Result<(), String> {
    let Some(program) = crate::cargo::find_program(Path::new("true")) else {
        return Err("there is no `true` program on PATH to try bubblewrap with".to_owned());
    };
    let view = View { readable: vec![program.clone()], ..View::default() };
    let mut command = Command::new("bwrap");
    command.args(view.bwrap_args()).arg("--").arg(&program);
    match command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!(
            "bubblewrap refused to start here: {}",
            String::from_utf8_lossy(&output.stderr).trim().lines().next().unwrap_or("no reason given")
        )),
        Err(_) => Err("bubblewrap (`bwrap`) is not installed".to_owned()),
    }
}

/// What one sandboxed process may see.
#[derive(Debug, Default, Clone)]
pub struct View {
    /// Files and folders it may read, at their own paths.
    pub readable: Vec<PathBuf>,
    /// Folders it may write to, at their own paths.
    pub writable: Vec<PathBuf>,
    /// `false`: a network namespace with nothing in it (a build). `true`: the caller's own network (a student
    /// program, which shares the loopback of the test that talks to it).
    pub share_network: bool,
    /// Environment variables, on top of a minimal `PATH`, `HOME`, `TMPDIR` and `LANG`.
    pub env: Vec<(String, OsString)>,
    /// The working folder (default `/tmp`).
    pub working_dir: Option<PathBuf>,
}

impl View {
    /// bubblewrap's arguments for this view, up to (not including) the `--` before the command.
    pub fn bwrap_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |words: &[&std::ffi::OsStr]| args.extend(words.iter().map(|word| word.to_os_string()));
        push(&["--unshare-user-try".as_ref(), "--unshare-pid".as_ref(), "--unshare-ipc".as_ref()]);
        push(&["--unshare-uts".as_ref(), "--unshare-cgroup-try".as_ref()]);
        if !self.share_network {
            push(&["--unshare-net".as_ref()]);
        }
        push(&["--die-with-parent".as_ref(), "--new-session".as_ref(), "--cap-drop".as_ref(), "ALL".as_ref()]);
        // The system, read-only: programs, libraries and settings (the linker's `cc` is a link through
        // /etc/alternatives on Debian; with a merged /usr, /bin and /lib are links into it, and stay links).
        for tree in SYSTEM_TREES {
            let path = Path::new(tree);
            match std::fs::read_link(path) {
                Ok(target) => push(&["--symlink".as_ref(), target.as_os_str(), path.as_os_str()]),
                Err(_) if path.is_dir() => push(&["--ro-bind".as_ref(), path.as_os_str(), path.as_os_str()]),
                Err(_) => {}
            }
        }
        push(&[
            "--proc".as_ref(),
            "/proc".as_ref(),
            "--dev".as_ref(),
            "/dev".as_ref(),
            "--tmpfs".as_ref(),
            "/tmp".as_ref(),
        ]);
        // `--ro-bind-try`: a path that does not exist (a kit without a runner crate, say) is simply not there.
        for path in &self.readable {
            push(&["--ro-bind-try".as_ref(), path.as_os_str(), path.as_os_str()]);
        }
        for path in &self.writable {
            push(&["--bind".as_ref(), path.as_os_str(), path.as_os_str()]);
        }
        push(&["--clearenv".as_ref()]);
        let base: [(&str, OsString); 5] = [
            ("PATH", system_path()),
            ("HOME", "/tmp".into()),
            ("TMPDIR", "/tmp".into()),
            ("LANG", "C.UTF-8".into()),
            ("RUST_BACKTRACE", "0".into()),
        ];
        for (name, value) in
            base.iter().map(|(name, value)| (*name, value)).chain(self.env.iter().map(|(n, v)| (n.as_str(), v)))
        {
            push(&["--setenv".as_ref(), name.as_ref(), value.as_os_str()]);
        }
        let working_dir = self.working_dir.clone().unwrap_or_else(|| PathBuf::from("/tmp"));
        push(&["--chdir".as_ref(), working_dir.as_os_str()]);
        args
    }

    /// A command that runs `program` with `args` in this view.
    pub fn command(&self, program: &Path, args: &[OsString]) -> Command {
        let mut command = Command::new("bwrap");
        command.args(self.bwrap_args()).arg("--").arg(program).args(args);
        command
    }
}

/// `cargo xtask sandbox-exec [--readable PATH]... [--writable DIR]... -- PROGRAM ARGS...`: what a graded
/// test calls (through the `KIT_SANDBOX` script the grader writes) to start a student's program. It replaces
/// itself with bubblewrap, so the test's child process is the sandbox, and killing it ends the program.
pub fn sandbox_exec(readable: Vec<PathBuf>, writable: Vec<PathBuf>, command: &[OsString]) -> Result<ExitCode> {
    let Some((program, args)) = command.split_first() else { bail!("sandbox-exec: no program to run after --") };
    let program = PathBuf::from(program);
    let mut view = View { readable, writable, share_network: true, ..View::default() };
    view.readable.push(program.clone());
    exec(&mut view.command(&program, args))
}

#[cfg(unix)]
fn exec(command: &mut Command) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    bail!("could not start bubblewrap: {error}")
}

#[cfg(not(unix))]
fn exec(_: &mut Command) -> Result<ExitCode> {
    bail!("the grader's sandbox needs Linux")
}

/// Writes the script that graded tests run as `KIT_SANDBOX`: it calls this very xtask's `sandbox-exec`, and
/// lets the student's program read the official Socket.IO browser client (which the chat pages serve).
pub fn write_launcher(folder: &Path, kit: &Path) -> Result<PathBuf> {
    let xtask = std::env::current_exe().context("cannot find the grader's own program")?;
    let mut script = format!("#!/bin/sh\nexec {} sandbox-exec", shell_quote(&xtask));
    let client = kit.join("node_modules/socket.io-client/dist");
    if client.is_dir() {
        script.push_str(&format!(" --readable {}", shell_quote(&client)));
    }
    script.push_str(" \"$@\"\n");
    let path = folder.join("sandbox-exec");
    std::fs::create_dir_all(folder)?;
    std::fs::write(&path, script).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(path)
}

/// `'path'`, with any `'` inside written as `'\''`: safe to paste into a shell command.
fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', "'\\''"))
}

/// One graded test's process: the kit's test binary, which starts the student's program itself.
pub struct TestProcess<'a> {
    pub program: &'a Path,
    pub args: Vec<String>,
    pub working_dir: &'a Path,
    /// A private folder: HOME and TMPDIR point into it.
    pub scratch: &'a Path,
    /// Extra environment: where the student's programs are, and the sandbox script.
    pub env: Vec<(&'static str, OsString)>,
    pub limit: Duration,
    pub output_cap: usize,
    pub loopback_only: bool,
}

impl TestProcess<'_> {
    pub fn run(&self) -> Result<Outcome> {
        let home = self.scratch.join("home");
        let tmp = self.scratch.join("tmp");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&tmp)?;
        let mut command = if self.loopback_only {
            // `ip link set lo up` inside the new namespace, then replace the shell with the real program.
            let mut command = Command::new("unshare");
            command.args(["-rn", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""]).arg(self.program);
            command
        } else {
            Command::new(self.program)
        };
        command
            .args(&self.args)
            .current_dir(self.working_dir)
            // Nothing of the grader's environment leaks in: no tokens, no CARGO_* paths to the kit.
            .env_clear()
            .env("PATH", system_path())
            .env("HOME", &home)
            .env("TMPDIR", &tmp)
            .env("LANG", "C.UTF-8")
            .env("RUST_BACKTRACE", "0")
            // Snapshot tests compare and fail; they never write files.
            .env("INSTA_UPDATE", "no")
            .env("CI", "true")
            .envs(self.env.iter().map(|(name, value)| (*name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);

        let started = Instant::now();
        let mut child = command.spawn().with_context(|| format!("could not start {}", self.program.display()))?;
        let group = child.id();
        let overflowed = Arc::new(Mutex::new(false));
        let stdout = capture(child.stdout.take(), self.output_cap, Arc::clone(&overflowed));
        let stderr = capture(child.stderr.take(), self.output_cap, Arc::clone(&overflowed));

        let deadline = started + self.limit;
        let ending = loop {
            if let Some(status) = child.try_wait()? {
                break Ending::Exited(status.code());
            }
            if *overflowed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) {
                kill_group(group);
                let _ = child.wait();
                break Ending::OutputLimit;
            }
            if Instant::now() >= deadline {
                kill_group(group);
                let _ = child.wait();
                break Ending::TimedOut;
            }
            // The standard library has no wait-with-timeout for a child; polling its status is the portable way.
            std::thread::sleep(Duration::from_millis(10));
        };
        // Whatever the test left running in its group (a server, a child process) goes too.
        kill_group(group);
        let output = format!("{}{}", stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
        Ok(Outcome { ending, output })
    }
}

/// Reads a pipe to its end, keeping at most `cap` bytes; flags `overflowed` when there was more.
fn capture(
    pipe: Option<impl Read + Send + 'static>,
    cap: usize,
    overflowed: Arc<Mutex<bool>>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let Some(mut pipe) = pipe else { return String::new() };
        let mut buffer = [0u8; 8192];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => {
                    let room = cap.saturating_sub(kept.len());
                    kept.extend_from_slice(&buffer[..read.min(room)]);
                    if read > room {
                        *overflowed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
                        // Keep draining, so the child is never blocked on a full pipe while we kill it.
                    }
                }
            }
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}

/// Kills a whole process group. Uses the `kill` program: no unsafe code, and present on every Unix.
fn kill_group(group: u32) {
    #[cfg(unix)]
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A folder for one run's private files, removed afterwards.
pub fn private_folder(parent: &Path, name: &str) -> Result<PathBuf> {
    let folder = parent.join(name);
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder)?;
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_binds_what_it_names_and_nothing_of_home() {
        let view = View {
            readable: vec![PathBuf::from("/course/kit/node_modules/socket.io-client/dist")],
            writable: vec![PathBuf::from("/tmp/grading/alice")],
            ..View::default()
        };
        let args: Vec<String> = view.bwrap_args().iter().map(|arg| arg.to_string_lossy().into_owned()).collect();
        let joined = args.join(" ");
        assert!(joined.contains("--unshare-net"), "a build has no network: {joined}");
        assert!(joined.contains("--cap-drop ALL"), "{joined}");
        assert!(joined.contains("--ro-bind-try /course/kit/node_modules/socket.io-client/dist"), "{joined}");
        assert!(joined.contains("--bind /tmp/grading/alice /tmp/grading/alice"), "{joined}");
        assert!(!joined.contains("--ro-bind / /"), "the root is built from parts, never the whole machine: {joined}");
        // The private /tmp comes before the writable folder inside it, or the folder would be hidden.
        let tmpfs = joined.find("--tmpfs /tmp").expect("a private /tmp");
        let bind = joined.find("--bind /tmp/grading").expect("the writable folder");
        assert!(tmpfs < bind, "{joined}");
    }

    #[test]
    fn quoting_survives_a_quote() {
        assert_eq!(shell_quote(Path::new("/a/it's")), "'/a/it'\\''s'");
    }
}
