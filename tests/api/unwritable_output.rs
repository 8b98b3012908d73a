//! Output that cannot be written (a log reader gone, a full disk) is lost,
//! never a panic: the server answers and stops on SIGTERM, and the CLI
//! fails cleanly, not keeping a personal access token nobody saw.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{Backend, TestDatabase, run_cli};
use crate::serve_process::{free_addr, realmgate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_log_reader_is_gone_answers_and_stops() {
    let db = TestDatabase::create(Backend::Sqlite).unwrap();
    let addr = free_addr();
    let mut child = realmgate()
        .args(["--database-url", &db.url, "--secret-key-file"])
        .arg(db.key_file())
        .args(["serve", "--bind", &addr])
        .env_remove("REALMGATE_ADMIN_USER")
        // Refused grants must be logged for the test to mean anything.
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://{addr}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/health/ready")).await.map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(started.elapsed() < Duration::from_secs(60), "not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The reader of the server's stderr goes away.
    drop(child.stderr.take());
    let form = [("grant_type", "password"), ("client_id", "admin-cli"), ("username", "x"), ("password", "y")];
    for _ in 0..3 {
        // A refused grant is logged: the write fails, the answer comes.
        let answer = reqwest::Client::new()
            .post(format!("{base}/realms/master/protocol/openid-connect/token"))
            .form(&form)
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(answer.status(), 400, "invalid_grant");
    }
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let asked = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if asked.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("SIGTERM did not stop the server");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

#[test]
fn a_token_printed_to_a_full_stdout_is_not_kept() {
    let db = TestDatabase::create(Backend::Sqlite).unwrap();
    let add = run_cli(&db, &["user", "add", "--realm", "master", "--username", "pat"], None);
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let full = std::fs::File::options().write(true).open("/dev/full").unwrap();
    let status = realmgate()
        .args(["--database-url", &db.url, "--secret-key-file"])
        .arg(db.key_file())
        .args(["token", "add", "--realm", "master", "--user", "pat", "--name", "lost"])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert_eq!(status.status.code(), Some(1), "a clean failure, not a panic (101): {stderr}");
    assert!(stderr.contains("cannot write to standard output"), "{stderr}");
    // The 25 active tokens the user may hold are all still to be had.
    for n in 0..25 {
        let minted =
            run_cli(&db, &["token", "add", "--realm", "master", "--user", "pat", "--name", &format!("t{n}")], None);
        assert!(minted.status.success(), "token {n}: {}", String::from_utf8_lossy(&minted.stderr));
    }
}
