//! A child process spoken to in JSON lines: one request line in, one answer line out,
//! each exchange within a time limit. The scaling loop's external stages (the
//! predictor now) sit on it, so a program that crashes, hangs, floods its output or
//! never exits cannot stall or bloat a run:
//!
//! - every answer must arrive within the timeout, and be one line of at most
//!   [`MAX_ANSWER_BYTES`];
//! - at the end of the run the program gets end-of-file on stdin and the same
//!   timeout to exit, then it is killed;
//! - its stderr is kept, the last [`STDERR_TAIL_BYTES`] of it, for the error message
//!   when it fails;
//! - it runs in its own process group (a terminal's Ctrl-C reaches the simulator, not
//!   it, so runs in flight can finish), and [`kill_all`] ends every live one when the
//!   simulator has to exit at once.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Longest answer line accepted, in bytes (a forecast is a few dozen).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// How much of the program's stderr is kept for error messages.
pub const STDERR_TAIL_BYTES: usize = 4 * 1024;

/// Every live child, so that [`kill_all`] can end them.
static CHILDREN: Mutex<Vec<Weak<Mutex<Child>>>> = Mutex::new(Vec::new());

/// Kills every external program still running (for an immediate exit: a second
/// Ctrl-C, a fatal error). Programs ended this way are not waited for.
pub fn kill_all() {
    let children = CHILDREN.lock().unwrap_or_else(|p| p.into_inner());
    for child in children.iter().filter_map(Weak::upgrade) {
        if let Ok(mut c) = child.lock() {
            kill_group(&mut c);
        }
    }
}

/// Kills `child` and, on Unix, everything in its process group (it leads one: a
/// shell's own children go too).
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(child.id())
        && child.try_wait().ok().flatten().is_none()
    {
        // SAFETY: killpg only sends a signal; the group is the one the child leads
        // (spawned with process_group(0)) and it has not been reaped, so the id
        // cannot have been reused. The one `unsafe` of the project.
        #[allow(unsafe_code)]
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
}

/// Why an exchange with the program failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// It could not be started.
    #[error("cannot start it: {0}")]
    Spawn(String),
    /// No answer within the timeout.
    #[error("no answer within {0:?} (the `timeout`)")]
    Timeout(Duration),
    /// It closed its output or exited.
    #[error("it exited{0} before answering")]
    Exited(String),
    /// An answer line longer than [`MAX_ANSWER_BYTES`].
    #[error("its answer line is longer than {MAX_ANSWER_BYTES} bytes")]
    TooLong,
    /// It stopped reading its input.
    #[error("it stopped reading its input: {0}")]
    Closed(String),
    /// An answer the caller could not use.
    #[error("{0}")]
    BadAnswer(String),
}

/// A running external program.
pub struct JsonLinesProcess {
    command: String,
    child: Arc<Mutex<Child>>,
    stdin: Option<ChildStdin>,
    answers: Receiver<Result<String, ProcessError>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    timeout: Duration,
}

impl JsonLinesProcess {
    /// Starts `command` (program and arguments) in `dir`; a relative program path
    /// with a `/` is taken relative to `dir` too (a bare name is looked up on PATH).
    pub fn spawn(command: &[String], dir: &Path, timeout: Duration) -> Result<Self, ProcessError> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| ProcessError::Spawn("the command is empty".into()))?;
        let program_path = PathBuf::from(program);
        let program_path = if program.contains('/') && program_path.is_relative() {
            dir.join(program_path)
        } else {
            program_path
        };
        let mut cmd = Command::new(&program_path);
        cmd.args(args)
            .current_dir(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt as _;
            cmd.process_group(0);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| ProcessError::Spawn(format!("{e} (in {})", dir.display())))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ProcessError::Spawn("no stdin/stdout/stderr".into()));
        };
        let (tx, answers) = sync_channel(1);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let answer = read_bounded_line(&mut reader);
                let last = answer.is_err();
                if tx.send(answer).is_err() || last {
                    return;
                }
            }
        });
        let tail = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&tail);
        std::thread::spawn(move || keep_tail(stderr, &sink));
        let child = Arc::new(Mutex::new(child));
        {
            let mut children = CHILDREN.lock().unwrap_or_else(|p| p.into_inner());
            children.retain(|c| c.strong_count() > 0);
            children.push(Arc::downgrade(&child));
        }
        Ok(JsonLinesProcess {
            command: command.join(" "),
            child,
            stdin: Some(stdin),
            answers,
            stderr: tail,
            timeout,
        })
    }

    /// The command line, for messages.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Sends `request` (one line) and waits for the answer line.
    pub fn call(&mut self, request: &str) -> Result<String, ProcessError> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| ProcessError::Closed("already closed".into()))?;
        writeln!(stdin, "{request}")
            .and_then(|()| stdin.flush())
            .map_err(|e| match self.exit_status() {
                Some(status) => ProcessError::Exited(describe(status)),
                None => ProcessError::Closed(e.to_string()),
            })?;
        match self.answers.recv_timeout(self.timeout) {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(ProcessError::Exited(_))) | Err(RecvTimeoutError::Disconnected) => {
                // Give it a moment to be reaped so the message can say how it ended.
                let status = self.wait_for_exit(Duration::from_millis(200));
                Err(ProcessError::Exited(
                    status.map(describe).unwrap_or_default(),
                ))
            }
            Ok(Err(e)) => Err(e),
            Err(RecvTimeoutError::Timeout) => Err(ProcessError::Timeout(self.timeout)),
        }
    }

    /// The last lines the program wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&tail).trim_end().to_owned()
    }

    /// `error` as a message naming the command, with the tail of its stderr.
    pub fn describe_failure(&self, role: &str, error: &ProcessError) -> String {
        let mut message = format!("the external {role} `{}` failed: {error}", self.command);
        // The reader thread may still be copying the last words.
        std::thread::sleep(Duration::from_millis(20));
        let tail = self.stderr_tail();
        if tail.is_empty() {
            message.push_str(" (its stderr was empty)");
        } else {
            message.push_str("; the end of its stderr:\n");
            for line in tail.lines() {
                message.push_str("    ");
                message.push_str(line);
                message.push('\n');
            }
            message.truncate(message.trim_end().len());
        }
        message
    }

    /// Ends the program now.
    pub fn kill(&mut self) {
        self.stdin = None;
        if let Ok(mut c) = self.child.lock() {
            kill_group(&mut c);
            let _ = c.wait();
        }
    }

    fn exit_status(&self) -> Option<ExitStatus> {
        self.child.lock().ok()?.try_wait().ok().flatten()
    }

    fn wait_for_exit(&self, limit: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + limit;
        loop {
            if let Some(status) = self.exit_status() {
                return Some(status);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for JsonLinesProcess {
    /// End of file on stdin; the program gets the timeout to exit, then is killed.
    fn drop(&mut self) {
        self.stdin = None;
        if self.wait_for_exit(self.timeout).is_none() {
            self.kill();
        }
    }
}

fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return format!(" (killed by signal {signal})");
        }
    }
    match status.code() {
        Some(code) => format!(" with status {code}"),
        None => String::new(),
    }
}

/// Reads one line of at most [`MAX_ANSWER_BYTES`] (without its newline), or says why
/// there is none.
fn read_bounded_line(reader: &mut impl BufRead) -> Result<String, ProcessError> {
    let mut line = Vec::new();
    let limit = MAX_ANSWER_BYTES as u64 + 1;
    let n = reader
        .take(limit)
        .read_until(b'\n', &mut line)
        .map_err(|e| ProcessError::Closed(e.to_string()))?;
    if n == 0 {
        return Err(ProcessError::Exited(String::new()));
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if n as u64 == limit {
        return Err(ProcessError::TooLong);
    }
    String::from_utf8(line).map_err(|_| ProcessError::BadAnswer("its answer is not UTF-8".into()))
}

/// Keeps the last [`STDERR_TAIL_BYTES`] of `stream` in `tail` until it closes.
fn keep_tail(mut stream: impl Read, tail: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            return;
        }
        let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
        t.extend_from_slice(&buf[..n]);
        if t.len() > STDERR_TAIL_BYTES {
            let cut = t.len() - STDERR_TAIL_BYTES;
            t.drain(..cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout_ms: u64) -> JsonLinesProcess {
        let command = ["sh".to_string(), "-c".to_string(), script.to_string()];
        JsonLinesProcess::spawn(&command, Path::new("."), Duration::from_millis(timeout_ms))
            .unwrap()
    }

    #[test]
    fn answers_line_by_line() {
        let mut p = sh("while read -r l; do echo \"got $l\"; done", 5_000);
        assert_eq!(p.call("a").unwrap(), "got a");
        assert_eq!(p.call("b").unwrap(), "got b");
    }

    #[test]
    fn a_program_that_sleeps_times_out() {
        let mut p = sh("read -r l; sleep 30", 200);
        let started = Instant::now();
        assert_eq!(
            p.call("x"),
            Err(ProcessError::Timeout(Duration::from_millis(200)))
        );
        drop(p);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "killed, not waited for"
        );
    }

    #[test]
    fn a_program_that_never_exits_on_end_of_input_is_killed() {
        let mut p = sh(
            "read -r l; echo ok; trap '' TERM; while true; do sleep 1; done",
            300,
        );
        assert_eq!(p.call("x").unwrap(), "ok");
        let started = Instant::now();
        drop(p);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn an_early_exit_is_reported_with_its_status_and_stderr() {
        let mut p = sh("read -r l; echo 'Traceback: boom' >&2; exit 3", 5_000);
        let e = p.call("x").unwrap_err();
        assert_eq!(e, ProcessError::Exited(" with status 3".into()));
        let message = p.describe_failure("predictor", &e);
        assert!(message.contains("`sh -c read -r l;"), "{message}");
        assert!(message.contains("exited with status 3"), "{message}");
        assert!(message.contains("    Traceback: boom"), "{message}");
    }

    #[test]
    fn a_flood_without_newline_is_cut_off() {
        let mut p = sh("read -r l; head -c 10000000 /dev/zero | tr '\\0' x", 5_000);
        assert_eq!(p.call("x"), Err(ProcessError::TooLong));
    }

    #[test]
    fn the_stderr_tail_is_bounded() {
        let mut p = sh(
            "read -r l; i=0; while [ $i -lt 2000 ]; do echo \"line $i\" >&2; i=$((i+1)); done; exit 1",
            5_000,
        );
        assert!(p.call("x").is_err());
        std::thread::sleep(Duration::from_millis(50));
        let tail = p.stderr_tail();
        assert!(tail.len() <= STDERR_TAIL_BYTES);
        assert!(tail.ends_with("line 1999"), "{tail}");
    }

    #[test]
    fn a_missing_program_is_a_spawn_error() {
        let r = JsonLinesProcess::spawn(
            &["/no/such/program".to_string()],
            Path::new("."),
            Duration::from_secs(1),
        );
        assert!(matches!(r, Err(ProcessError::Spawn(_))));
    }

    /// A relative program path with a `/` and the working directory both follow
    /// `dir` (the scenario file's directory).
    #[test]
    fn relative_paths_follow_the_given_directory() {
        let dir = std::env::temp_dir().join(format!("inferscale-proc-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let script = dir.join("bin/answer.sh");
        std::fs::write(&script, "#!/bin/sh\nread -r l\npwd\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut p =
            JsonLinesProcess::spawn(&["bin/answer.sh".to_string()], &dir, Duration::from_secs(5))
                .unwrap();
        let answer = p.call("x").unwrap();
        assert_eq!(
            std::fs::canonicalize(answer).unwrap(),
            std::fs::canonicalize(&dir).unwrap()
        );
        drop(p);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
