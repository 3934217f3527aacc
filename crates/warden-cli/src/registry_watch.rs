//! Following the model registry while `warden detect` runs (`--reload-secs`): a thread
//! checks the store for a newly activated version of each `--registry-model` and swaps it
//! into the engine's slot, so `warden models activate` or `rollback` takes effect on a live
//! stream without a restart. A version that does not load, or is of another kind, is
//! reported and the model in use is kept.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use warden_engine::models::{LoadedModel, ModelSlot};
use warden_engine::ueba::Member;
use warden_store::Store;

/// A registered model in use, and where it is.
pub struct Watched {
    pub name: String,
    pub version: i64,
    pub member: Member,
    pub slot: Arc<ModelSlot>,
}

/// The watcher thread; stops when dropped.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Watcher {
    pub fn start(store: PathBuf, mut watched: Vec<Watched>, every: Duration) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let s = match Store::open(&store) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("warning: model registry not followed: {e}");
                    return;
                }
            };
            let mut next = Instant::now() + every;
            while !flag.load(Ordering::Relaxed) {
                if Instant::now() < next {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                next = Instant::now() + every;
                for w in &mut watched {
                    check(&s, w);
                }
            }
        });
        Watcher {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Swaps in the active version of one model if it changed.
fn check(s: &Store, w: &mut Watched) {
    let active = match s.active_model_version(&w.name) {
        Ok(Some(v)) if v != w.version => v,
        Ok(_) => return,
        Err(e) => {
            eprintln!("warning: model {}: cannot read the registry: {e}", w.name);
            return;
        }
    };
    let loaded = s
        .model_body(&w.name, Some(active))
        .map_err(|e| e.to_string())
        .and_then(|b| b.ok_or_else(|| "version vanished".to_owned()))
        .and_then(|(v, body)| {
            LoadedModel::from_bytes(format!("{} v{v}", w.name), &body).map_err(|e| e.to_string())
        })
        .and_then(|m| match Member::of(&m) {
            Ok(member) if member == w.member => Ok(m),
            Ok(member) => Err(format!(
                "it is a {} model, not a {} one",
                member.name(),
                w.member.name()
            )),
            Err(e) => Err(e),
        });
    match loaded {
        Ok(model) => {
            w.slot.swap(model);
            eprintln!("model {}: v{} in use (was v{})", w.name, active, w.version);
            w.version = active;
        }
        Err(e) => {
            eprintln!(
                "warning: model {} v{active} not used, keeping v{}: {e}",
                w.name, w.version
            );
            // Not retried until another version is activated.
            w.version = active;
        }
    }
}
