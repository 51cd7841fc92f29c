//! The program under test as a command-line program: arguments and lines in, lines out, an exit code.
//!
//! Chapter 7 on, the student writes a client. The tests run it the way a user would: [`run_to_end`] feeds it
//! its whole input and waits for it to exit (`echo ... | program ARGS`); [`Running`] keeps its standard input
//! open and reads its output line by line, for a test that talks to it while it runs. Either way the program
//! is the exercise's own binary ([`Program`]), run in the grader's sandbox when the grader runs the tests.

use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use launch::Program;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::{mpsc, oneshot};

use crate::{Section, WAIT, within};

/// How a program ended, and what it wrote.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Both outputs, for failure messages, each line behind a bar so that nothing the program printed can
    /// pass for a line of the test's own report.
    pub fn transcript(&self) -> String {
        format!(
            "--- its standard output:\n{}--- its standard error:\n{}---",
            barred(&self.stdout),
            barred(&self.stderr)
        )
    }

    /// Checks the exit code, showing everything the program wrote if it is not the expected one.
    #[track_caller]
    pub fn assert_exit(&self, code: i32, meaning: &str, section: Section) {
        assert_eq!(
            self.status.code(),
            Some(code),
            "the program should exit with {code} ({meaning}); it ended with {}. (101 is a panic: a `todo!()`?)\n{}\n\
             Read: {section}",
            self.status,
            self.transcript()
        );
    }
}

fn barred(text: &str) -> String {
    text.lines().map(|line| format!("  | {line}\n")).collect()
}

/// Runs `program` to its end with `input` on its standard input, as `echo ... | program ARGS` would, and kills
/// it if it runs longer than `limit`. assert_cmd runs it on a thread of its own, so the test's runtime keeps
/// serving whatever the program talks to meanwhile.
pub async fn run_to_end(program: &Program, args: &[&str], input: &str, limit: Duration, section: Section) -> Finished {
    crate::panics::report_panics_briefly();
    let mut command = assert_cmd::Command::from_std(program.command(args, &[]));
    command.write_stdin(input.to_owned()).timeout(limit);
    let started = Instant::now();
    let name = program.name();
    let output = match tokio::task::spawn_blocking(move || command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => panic!("the test could not run {name}: {error}"),
        Err(error) => panic!("the test's runner thread failed: {error}"),
    };
    let finished = Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        started.elapsed() < limit,
        "the program was still running after {limit:?} and was stopped. At the end of its input it should \
         finish its work and exit; an unreachable server should be reported within seconds.\n{}\nRead: {section}",
        finished.transcript()
    );
    finished
}

/// The program running in the background with its standard input open, for a test that talks to it.
///
/// Its output is read by tasks as it comes. Dropping it (a failed assertion, say) kills the program, so no
/// test leaves one running.
pub struct Running {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    stdout: mpsc::UnboundedReceiver<String>,
    stdout_so_far: Vec<String>,
    stderr: Option<oneshot::Receiver<String>>,
}

impl Running {
    pub fn start(program: &Program, args: &[&str]) -> Running {
        crate::panics::report_panics_briefly();
        let mut command = tokio::process::Command::from(program.command(args, &[]));
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("the test could not start {}: {error}", program.path().display()));
        let stdin = child.stdin.take();
        let (lines, stdout) = mpsc::unbounded_channel();
        if let Some(out) = child.stdout.take() {
            tokio::spawn(async move {
                let mut reader = BufReader::new(out).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    if lines.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let (text, stderr) = oneshot::channel();
        if let Some(mut err) = child.stderr.take() {
            tokio::spawn(async move {
                let mut all = Vec::new();
                let _ = err.read_to_end(&mut all).await;
                let _ = text.send(String::from_utf8_lossy(&all).into_owned());
            });
        }
        Running { child: Some(child), stdin, stdout, stdout_so_far: Vec::new(), stderr: Some(stderr) }
    }

    /// Sends one line to the program's standard input.
    pub async fn send_line(&mut self, line: &str, section: Section) {
        use tokio::io::AsyncWriteExt;
        let Some(stdin) = self.stdin.as_mut() else { panic!("the program's input is already closed") };
        let written = async {
            stdin.write_all(line.as_bytes()).await?;
            stdin.write_all(b"\n").await?;
            stdin.flush().await
        };
        if let Err(error) = within(WAIT, "the program to take a line of input", section, written).await {
            let stderr = self.stderr_text().await;
            panic!(
                "the program stopped reading its input ({error}): did it exit early?\n--- it printed:\n{}\n\
                 --- its standard error:\n{}---\nRead: {section}",
                barred(&self.stdout_so_far.join("\n")),
                barred(&stderr)
            );
        }
    }

    /// Waits for the program's next line of output.
    pub async fn expect_line(&mut self, what: &str, section: Section) -> String {
        match within(WAIT, &format!("the program to print {what}"), section, self.stdout.recv()).await {
            Some(line) => {
                self.stdout_so_far.push(line.clone());
                line
            }
            None => {
                let stderr = self.stderr_text().await;
                panic!(
                    "the program ended (or closed its output) before printing {what}.\n--- it printed:\n{}\
                     --- its standard error:\n{}---\nRead: {section}",
                    barred(&self.stdout_so_far.join("\n")),
                    barred(&stderr)
                );
            }
        }
    }

    /// Everything the program wrote on its standard error, once it has closed it (that is, ended).
    async fn stderr_text(&mut self) -> String {
        let Some(stderr) = self.stderr.take() else { return String::new() };
        let Some(child) = self.child.as_mut() else { return String::new() };
        // Still running: stop it, or its standard error never ends.
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.start_kill();
        }
        tokio::time::timeout(WAIT, stderr).await.ok().and_then(Result::ok).unwrap_or_default()
    }

    /// Closes the program's standard input (the user's Ctrl-D) and waits for it to end on its own.
    pub async fn finish(mut self, section: Section) -> Finished {
        drop(self.stdin.take());
        // Its output ends when it exits; whatever it still prints on the way is part of the transcript.
        while let Some(line) =
            within(WAIT, "the program to exit at the end of its input", section, self.stdout.recv()).await
        {
            self.stdout_so_far.push(line);
        }
        let Some(mut child) = self.child.take() else { unreachable!("`finish` consumes the program") };
        let status = tokio::time::timeout(WAIT, child.wait()).await;
        let stderr = match self.stderr.take() {
            Some(stderr) => tokio::time::timeout(WAIT, stderr).await.ok().and_then(Result::ok).unwrap_or_default(),
            None => String::new(),
        };
        let mut stdout = self.stdout_so_far.join("\n");
        stdout.push('\n');
        match status {
            Ok(Ok(status)) => Finished { status, stdout, stderr },
            _ => {
                let _ = child.start_kill();
                panic!(
                    "the program closed its output but did not exit within {WAIT:?}.\n--- it printed:\n{}--- its \
                     standard error:\n{}---\nRead: {section}",
                    barred(&stdout),
                    barred(&stderr)
                )
            }
        }
    }
}
