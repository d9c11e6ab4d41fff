//! Running the built `fusion` binary: one-shot commands with their output, and long-running
//! commands (`sim`, `demo`) whose first stdout line is their JSON ready line. Readiness is that
//! line, never a sleep.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use reqwest::header::{CONTENT_TYPE, SET_COOKIE};

/// Environment variables the binary reads; cleared for every test so the developer's or CI's own
/// environment cannot change a result.
const FUSION_VARIABLES: &[&str] = &[
    "FUSION_LISTEN",
    "FUSION_DATABASE_URL",
    "FUSION_DATA_DIR",
    "FUSION_SECRET_KEY",
    "FUSION_AUTOTASK_INTEGRATION_CODE",
    "FUSION_AUTOTASK_OVERRIDE",
    "FUSION_AUTOTASK_SECRET",
    "FUSION_ADMIN_PASSWORD",
    "FUSION_SECURE_COOKIES",
    "FUSION_LOG_FORMAT",
    "FUSION_CONFIG",
    "FUSION_HISTORY_RETENTION_DAYS",
    "FUSION_SCHEDULER_TICK_SECONDS",
    "FUSION_LEASE_SECONDS",
    "FUSION_SECRET_KEY_FILE",
    "FUSION_ALLOW_READABLE_KEY_FILE",
    "FUSION_PUBLIC_URL",
    "FUSION_TRUSTED_PROXIES",
    "FUSION_METRICS_LISTEN",
    "FUSION_METRICS_TOKEN",
    "RUST_LOG",
];

/// `fusion ARGS…` with a clean environment plus `env`.
pub fn fusion(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fusion"));
    command.args(args);
    for variable in FUSION_VARIABLES {
        command.env_remove(variable);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// What a finished one-shot command printed.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Everything the user saw, for "never echoed" checks.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs a command to completion, feeding `stdin` (or nothing) to it.
pub fn run(mut command: Command, stdin: Option<&str>) -> Finished {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the fusion binary starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    if let Some(text) = stdin {
        input
            .write_all(text.as_bytes())
            .expect("stdin accepts the input");
    }
    drop(input);
    let output = child
        .wait_with_output()
        .expect("the fusion binary finishes");
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A long-running `fusion` child that has printed its ready line. Killed on drop if a test
/// fails before stopping it.
#[derive(Debug)]
pub struct Served {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
    pub ready_line: String,
    pub ready: serde_json::Value,
}

impl Served {
    /// Starts the command and blocks until its first stdout line, which must be JSON.
    pub fn start(mut command: Command) -> Served {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the fusion binary starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut child_stderr = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = child_stderr.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        let mut ready_line = String::new();
        stdout
            .read_line(&mut ready_line)
            .expect("stdout is readable");
        let mut served = Served {
            child,
            stdout,
            stderr,
            stderr_reader: Some(stderr_reader),
            ready_line: ready_line.trim_end().to_owned(),
            ready: serde_json::Value::Null,
        };
        served.ready = match serde_json::from_str(&served.ready_line) {
            Ok(value) => value,
            Err(error) => {
                let status = served.child.wait().ok();
                panic!(
                    "the first stdout line is not JSON ({error}): {:?}\nexit: {status:?}\nstderr:\n{}",
                    served.ready_line,
                    served.stderr_text()
                )
            }
        };
        served
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM (by process id, with the system's `kill`) and waits for the exit; returns
    /// the exit status and everything printed on stdout after the ready line.
    pub fn terminate(mut self) -> (ExitStatus, String, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let status = self.child.wait().expect("the child exits");
        let mut rest = String::new();
        self.stdout
            .read_to_string(&mut rest)
            .expect("stdout is readable");
        if let Some(reader) = self.stderr_reader.take() {
            reader.join().expect("the stderr reader finishes");
        }
        (status, rest, self.stderr_text())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn fresh_data_dir(label: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("fusion-it-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client builds")
}

/// Signs in through the sign-in form as a browser would; returns the session cookie.
pub async fn sign_in(client: &reqwest::Client, url: &str, email: &str, password: &str) -> String {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", email)
        .append_pair("password", password)
        .finish();
    let response = client
        .post(format!("{url}sign-in"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("sign-in answers");
    assert!(
        response.status().is_redirection(),
        "sign-in as {email}: {}",
        response.status()
    );
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("fusion_session="))
        .and_then(|value| value.split(';').next())
        .unwrap_or_else(|| panic!("signing in as {email} sets the session cookie"))
        .to_owned()
}
