//! The `lakebase-emulator` binary as a process.

use std::time::Duration;

/// Regression: the banner was printed with `println!`, which panics when whoever started the
/// emulator has stopped reading its output (a closed pipe), killing the emulator.
#[tokio::test]
async fn a_closed_stdout_does_not_stop_the_emulator() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lakebase-emulator"))
        .args(["--port", &port.to_string()])
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let url = format!("http://127.0.0.1:{port}/.well-known/databricks-config");
    let mut served = false;
    for _ in 0..500 {
        if reqwest::get(&url).await.is_ok_and(|r| r.status().is_success()) {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The banner goes out right after start-up: give a broken pipe time to bite.
    tokio::time::sleep(Duration::from_millis(500)).await;
    served = served && reqwest::get(&url).await.is_ok_and(|r| r.status().is_success());
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(served && still_running, "served={served} running={still_running}");
}
