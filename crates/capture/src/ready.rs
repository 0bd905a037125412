//! Waiting until the program is ready for load, and building the load driver for it: the
//! `--load` URL accepting connections (its port found from /proc when left out), or the
//! program listening at all for `--drive` and manual load.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::listen::{self, LoadUrl};
use crate::loader::{self, Driver, HttpLoad};
use crate::{check, duration, LoadPlan, Observer, Program, Stop};

pub struct Waiter<'a> {
    pub load: &'a LoadPlan,
    pub ready_timeout: Duration,
    pub ui: &'a dyn Observer,
    /// Where the program listens, once known.
    pub listen: Option<SocketAddr>,
}

impl Waiter<'_> {
    /// Waits until the program is ready for load and builds the driver.
    pub fn ready(&mut self, program: &mut Program) -> Result<Driver, Stop> {
        let deadline = Instant::now() + self.ready_timeout;
        let started = Instant::now();
        let exclude = program.inspector_port;
        match self.load {
            LoadPlan::Http {
                url,
                connections,
                requests,
                duration,
                warmup,
                method,
                headers,
                body,
                allow_remote,
                drive,
            } => {
                self.ui
                    .status("waiting for the program to accept connections…");
                let addr = self.wait_for_url(program, url, *allow_remote, deadline, started)?;
                self.listen = Some(addr);
                let full = url.with(addr);
                self.ui
                    .note(&format!("the program is ready: load goes to {full}"));
                if let Some(cmd) = drive {
                    return Ok(Driver::Command(
                        cmd.replace("{port}", &addr.port().to_string()),
                    ));
                }
                Ok(Driver::Http(HttpLoad {
                    url: full,
                    connections: *connections,
                    requests: *requests,
                    duration: *duration,
                    warmup: *warmup,
                    method: method.clone(),
                    headers: headers.clone(),
                    body: body.clone(),
                    allow_remote: *allow_remote,
                }))
            }
            LoadPlan::Command(cmd) => {
                let needs_port = cmd.contains("{port}");
                // Without {port}: a program that does not listen within 2 s may not be a
                // server at all; go on.
                let until = if needs_port {
                    deadline
                } else {
                    deadline.min(Instant::now() + Duration::from_secs(2))
                };
                self.ui.status("waiting for the program to listen…");
                let found = self.wait_for_listener(program, exclude, until)?;
                self.listen = found;
                match found {
                    Some(a) => {
                        self.ui.note(&format!("the program listens on {a}"));
                        Ok(Driver::Command(cmd.replace("{port}", &a.port().to_string())))
                    }
                    None if needs_port => Err(Stop::Failed(format!(
                        "--drive uses {{port}}, but the program did not listen on a loopback TCP port within {} (--ready-timeout)",
                        duration::show(self.ready_timeout)
                    ))),
                    None => Ok(Driver::Command(cmd.clone())),
                }
            }
            LoadPlan::Manual => {
                let until = deadline.min(Instant::now() + Duration::from_secs(2));
                self.listen = self.wait_for_listener(program, exclude, until)?;
                if let Some(a) = self.listen {
                    self.ui.note(&format!("the program listens on {a}"));
                }
                Ok(Driver::Manual(loader::Stdin::start()))
            }
        }
    }

    fn wait_for_listener(
        &mut self,
        program: &mut Program,
        exclude: u16,
        until: Instant,
    ) -> Result<Option<SocketAddr>, Stop> {
        loop {
            if let Some(s) = check(program) {
                return Err(s);
            }
            if let Some(a) = listen::first_reachable(program.pid, exclude) {
                return Ok(Some(a));
            }
            if Instant::now() >= until {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for_url(
        &mut self,
        program: &mut Program,
        url: &LoadUrl,
        allow_remote: bool,
        deadline: Instant,
        started: Instant,
    ) -> Result<SocketAddr, Stop> {
        let timeout = duration::show(self.ready_timeout);
        let Some(port) = url.port else {
            // No port given: the one the program listens on.
            return match self.wait_for_listener(program, program.inspector_port, deadline)? {
                Some(a) => Ok(a),
                None => Err(Stop::Failed(format!(
                    "the program did not listen on a loopback TCP port within {timeout} (--ready-timeout); give the port in --load"
                ))),
            };
        };
        let addrs = url
            .resolve(port, allow_remote)
            .map_err(|e| Stop::Failed(e.to_string()))?;
        let shown = url.with(addrs[0]);
        loop {
            if let Some(s) = check(program) {
                return Err(s);
            }
            if let Some(a) = addrs.iter().find(|a| listen::accepts(**a)) {
                return Ok(*a);
            }
            // Refused while the program listens elsewhere: the port in --load is wrong.
            if started.elapsed() > Duration::from_millis(1500) {
                let others = listen::listeners(program.pid, program.inspector_port);
                if !others.is_empty() && !others.iter().any(|l| l.addr.port() == port) {
                    let list: Vec<String> = others.iter().map(|l| l.addr.to_string()).collect();
                    return Err(Stop::Failed(format!(
                        "the load target {shown} refuses connections, but the program listens on {}: check the port in --load (or leave it out to use the program's)",
                        list.join(", ")
                    )));
                }
            }
            if Instant::now() >= deadline {
                return Err(Stop::Failed(format!(
                    "the load target {shown} did not accept connections within {timeout} (--ready-timeout)"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
