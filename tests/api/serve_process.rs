//! `realmgate serve` as a separate process of the built binary (the
//! multi-node and deployment tests): started on a free loopback port,
//! awaited until ready, killed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a process may take to migrate, apply its realm file and answer.
const READY_WITHIN: Duration = Duration::from_secs(60);

pub struct ServeProcess {
    child: Child,
    /// `127.0.0.1:port`, where it listens.
    pub addr: String,
    log: PathBuf,
}

/// A loopback address with a port free a moment ago.
pub fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("127.0.0.1:{port}")
}

/// The realmgate binary of this build, to add arguments and environment to.
pub fn realmgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_realmgate"))
}

impl ServeProcess {
    /// Spawns `command` (told to listen on `addr`), its output going to `log`.
    pub fn start(mut command: Command, addr: String, log: PathBuf) -> Self {
        let out = std::fs::File::create(&log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start realmgate serve");
        ServeProcess { child, addr, log }
    }

    /// Waits for 200 at `path` (a health check); panics with the process's
    /// output if it exits or takes too long.
    pub async fn wait_ready(&mut self, path: &str) -> reqwest::Response {
        let url = format!("http://{}{path}", self.addr);
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("realmgate at {} exited ({status}): {}", self.addr, self.output());
            }
            if let Ok(answer) = reqwest::get(&url).await
                && answer.status() == 200
            {
                return answer;
            }
            assert!(started.elapsed() < READY_WITHIN, "realmgate at {} not ready: {}", self.addr, self.output());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asks the process to stop as a service manager does (SIGTERM) and
    /// waits for it to exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.wait_exit()
    }

    /// Waits for the process to exit (a stop asked for before).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let asked = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(asked.elapsed() < READY_WITHIN, "realmgate at {} did not stop: {}", self.addr, self.output());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap().success());
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
